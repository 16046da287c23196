// Contact and organisation lists: the "select all on this page" box ticks every row's box.
(function () {
  "use strict";
  const all = document.getElementById("tick-page");
  if (!all) return;
  const boxes = () => Array.from(document.querySelectorAll('#record-list tbody input[name="id"]'));
  all.hidden = false;
  all.addEventListener("change", () => {
    boxes().forEach((box) => { box.checked = all.checked; });
  });
  document.getElementById("record-list").addEventListener("change", (event) => {
    if (event.target.name !== "id") return;
    const ticked = boxes().filter((box) => box.checked).length;
    all.checked = ticked === boxes().length;
    all.indeterminate = ticked > 0 && ticked < boxes().length;
  });
})();
