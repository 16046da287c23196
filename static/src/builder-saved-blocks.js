/* Designer visual builder: saved blocks.
 *
 * "Save section as block" posts the selected section's MJML (the section, or
 * the wrapper, around the selection) with a name to config.saved_blocks_url
 * (/api/v1/blocks); the server checks it is one section that compiles
 * (designer/templating/saved_blocks.py). Every saved block shows in the block
 * manager of every template under "Saved blocks" and drops as that section;
 * its × button deletes it (for every template, after a confirmation).
 */

import { allPages, requestJson } from "./api.js";
import { t } from "./i18n.js";

const CATEGORY = "Saved blocks"; // in English: looked up when shown
const SAVABLE = ["mj-section", "mj-wrapper"];
const NO_SECTION = "Select a section (or something in it) first, then save it as a block.";

const escapeHtml = (text) =>
  String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Show a saved block (as the server lists it) in the block manager, with a delete button.
 * GrapesJS writes block labels as HTML: the name is escaped. */
function addSavedBlock(editor, block, remove) {
  editor.Blocks.add(`designer-saved-${block.id}`, {
    label: escapeHtml(block.name),
    category: t(CATEGORY),
    content: block.markup,
    attributes: { title: block.name, "data-designer-saved-block": String(block.id) },
    render: ({ el }) => {
      const button = el.ownerDocument.createElement("button");
      button.type = "button";
      button.className = "designer-block-delete";
      button.textContent = "×";
      button.title = t("Delete the saved block “%(name)s”", { name: block.name });
      button.setAttribute("aria-label", button.title);
      button.draggable = false;
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        remove(block);
      });
      el.appendChild(button);
    },
  });
}

/** The selected section, or the section or wrapper around the selection. */
function selectedSection(editor) {
  let component = editor.getSelected();
  while (component && !SAVABLE.includes(component.get("type"))) component = component.parent();
  return component || null;
}

/**
 * Load the saved blocks and wire the save form. ``tools``: toMjml(component, indent),
 * flush() (ends text editing) and setStatus(text, kind).
 */
export function initSavedBlocks(editor, config, tools) {
  if (!config.saved_blocks_url) return;
  const removed = (block) => {
    editor.Blocks.remove(`designer-saved-${block.id}`);
    tools.setStatus(t("Deleted the saved block “%(name)s”.", { name: block.name }), "success");
  };
  const remove = (block) => {
    if (!window.confirm(t("Delete the saved block “%(name)s” for every template?", { name: block.name }))) return;
    requestJson(`${config.saved_blocks_url}/${block.id}`, { method: "DELETE" })
      .then(() => removed(block))
      .catch((error) => {
        if (error.status === 404) removed(block); // someone deleted it already
        else tools.setStatus(t("The block was not deleted: %(error)s", { error: error.message }), "error");
      });
  };
  const add = (block) => addSavedBlock(editor, block, remove);
  allPages(config.saved_blocks_url, "blocks")
    .then((blocks) => blocks.forEach(add))
    .catch(() => tools.setStatus(t("Could not load the saved blocks."), "error"));

  const open = document.getElementById("builder-save-block");
  const form = document.getElementById("builder-block-form");
  const name = document.getElementById("builder-block-name");
  const cancel = document.getElementById("builder-block-cancel");
  if (!open || !form || !name) return;

  const show = (visible) => {
    form.hidden = !visible;
    open.setAttribute("aria-expanded", visible ? "true" : "false");
    if (visible) name.focus();
  };
  open.addEventListener("click", () => {
    if (!selectedSection(editor)) {
      tools.setStatus(t(NO_SECTION), "error");
      return;
    }
    show(form.hidden);
  });
  if (cancel) cancel.addEventListener("click", () => show(false));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const section = selectedSection(editor);
    if (!section) {
      tools.setStatus(t(NO_SECTION), "error");
      return;
    }
    await tools.flush();
    requestJson(config.saved_blocks_url, {
      method: "POST",
      body: { name: name.value, mjml: tools.toMjml(section, "") },
    })
      .then((block) => {
        add(block);
        tools.setStatus(
          t("Saved the section as the block “%(name)s” (under %(category)s).", { name: block.name, category: t(CATEGORY) }),
          "success"
        );
        name.value = "";
        show(false);
      })
      .catch((error) => tools.setStatus(t("Not saved: %(error)s", { error: error.message }), "error"));
  });
}
