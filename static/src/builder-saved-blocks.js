/* Designer visual builder: saved blocks.
 *
 * "Save section as block" posts the selected section's MJML (the section, or
 * the wrapper, around the selection) with a name to config.saved_blocks_url;
 * the server checks it is one section that compiles
 * (designer/templating/saved_blocks.py). Every saved block shows in the block
 * manager of every template under "Saved blocks" and drops as that section;
 * its × button deletes it (for every template, after a confirmation).
 */

const CATEGORY = "Saved blocks";
const SAVABLE = ["mj-section", "mj-wrapper"];

const escapeHtml = (text) =>
  String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Show a saved block (as the server lists it) in the block manager, with a delete button.
 * GrapesJS writes block labels as HTML: the name is escaped. */
function addSavedBlock(editor, block, remove) {
  editor.Blocks.add(`designer-saved-${block.id}`, {
    label: escapeHtml(block.name),
    category: CATEGORY,
    content: block.markup,
    attributes: { title: block.name, "data-designer-saved-block": String(block.id) },
    render: ({ el }) => {
      const button = el.ownerDocument.createElement("button");
      button.type = "button";
      button.className = "designer-block-delete";
      button.textContent = "×";
      button.title = `Delete the saved block “${block.name}”`;
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

function requestJson(url, options) {
  return fetch(url, { credentials: "same-origin", ...options }).then((response) =>
    response.json().then((body) => {
      if (!response.ok) throw new Error((body && body.error && body.error.message) || "The request failed.");
      return body;
    })
  );
}

/**
 * Load the saved blocks and wire the save form. ``tools``: toMjml(component, indent),
 * flush() (ends text editing), setStatus(text, kind) and csrfToken().
 */
export function initSavedBlocks(editor, config, tools) {
  if (!config.saved_blocks_url) return;
  const headers = () => ({ Accept: "application/json", "X-CSRFToken": tools.csrfToken() });
  const remove = (block) => {
    if (!window.confirm(`Delete the saved block “${block.name}” for every template?`)) return;
    fetch(`${config.saved_blocks_url}/${block.id}`, { method: "DELETE", credentials: "same-origin", headers: headers() })
      .then((response) => {
        if (!response.ok && response.status !== 404) throw new Error("The block was not deleted.");
        editor.Blocks.remove(`designer-saved-${block.id}`);
        tools.setStatus(`Deleted the saved block “${block.name}”.`, "success");
      })
      .catch((error) => tools.setStatus(error.message, "error"));
  };
  const add = (block) => addSavedBlock(editor, block, remove);
  requestJson(config.saved_blocks_url, { headers: { Accept: "application/json" } })
    .then((body) => (body.data || []).forEach(add))
    .catch(() => tools.setStatus("Could not load the saved blocks.", "error"));

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
      tools.setStatus("Select a section (or something in it) first, then save it as a block.", "error");
      return;
    }
    show(form.hidden);
  });
  if (cancel) cancel.addEventListener("click", () => show(false));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const section = selectedSection(editor);
    if (!section) {
      tools.setStatus("Select a section (or something in it) first, then save it as a block.", "error");
      return;
    }
    await tools.flush();
    requestJson(config.saved_blocks_url, {
      method: "POST",
      headers: { ...headers(), "Content-Type": "application/json" },
      body: JSON.stringify({ name: name.value, mjml: tools.toMjml(section, "") }),
    })
      .then((body) => {
        add(body.data);
        tools.setStatus(`Saved the section as the block “${body.data.name}” (under ${CATEGORY}).`, "success");
        name.value = "";
        show(false);
      })
      .catch((error) => tools.setStatus(error.message, "error"));
  });
}
