/* Designer visual builder: a dragged block lands where the pointer is released.
 *
 * GrapesJS 0.23 works out the drop target from `dragover` events, at most one
 * per 20 ms. When the button is released within 20 ms of the last move, the
 * drop used the target of the move before: over MJML's table layout that is
 * often mj-body, which takes no button or text, so a content block meant for
 * a column was lost. Before GrapesJS handles the drop we let it place the
 * pointer once more at the release point, so the block goes into the column
 * (or section) under the pointer.
 */

/** The canvas's running block drag (GrapesJS's Droppable), if one is in progress. */
function runningDrop(editor) {
  const frames = editor.Canvas.getFrames ? editor.Canvas.getFrames() : [];
  const droppable = frames.length && frames[0].view ? frames[0].view.droppable : null;
  if (!droppable || !droppable.over || !droppable.sorter) return null;
  const determiner = droppable.sorter.dropLocationDeterminer;
  return determiner && typeof determiner.handleMove === "function" ? determiner : null;
}

/** Settle the drop target at the release point of every block drag into the canvas. */
export function settleDropsOnRelease(editor) {
  const doc = editor.Canvas.getDocument();
  if (!doc) return;
  doc.addEventListener(
    "drop",
    (event) => {
      const determiner = runningDrop(editor);
      if (determiner) determiner.handleMove(event);
    },
    true
  );
}
