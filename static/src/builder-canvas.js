/* Designer visual builder: the canvas compiles each component as it is saved.
 *
 * grapesjs-mjml fills every component's attributes with its type's defaults
 * ("style-default": a grey #414141 button with a 3px radius, a black 4px
 * divider, 13px text) so that its style panels show values. When it saves, it
 * leaves out each attribute still equal to its default (getAttrToHTML), so the
 * template's own mj-attributes and mj-class decide, as they do when the mail is
 * sent. When it draws the canvas, though, it compiled every attribute
 * (getMjmlAttributes), defaults included, and those beat the template's head:
 * the canvas showed a grey button that went out green.
 *
 * canvasAsSaved makes the canvas compile the attributes that are saved (and an
 * image's src), so what the canvas shows, with the template's head that the
 * canvas parser adds (builder.js), is what is sent. Run it as the last plugin,
 * after every MJML component type is defined.
 */

const PATCHED = Symbol("designer canvas as saved");

export function canvasAsSaved(editor) {
  for (const type of editor.Components.getTypes()) {
    const proto = type.model && type.model.prototype;
    if (!proto || typeof proto.getAttrToHTML !== "function") continue;
    const original = proto.getMjmlAttributes;
    if (typeof original !== "function" || original[PATCHED]) continue;
    const compiled = function () {
      const all = original.call(this);
      const saved = this.getAttrToHTML();
      const kept = {};
      for (const name of Object.keys(all)) {
        if (name === "src" || Object.prototype.hasOwnProperty.call(saved, name)) kept[name] = all[name];
      }
      return kept;
    };
    compiled[PATCHED] = true;
    proto.getMjmlAttributes = compiled;
  }
}
