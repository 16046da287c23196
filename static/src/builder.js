/* Designer visual builder: GrapesJS with grapesjs-mjml on a template's MJML.
 *
 * Bundled by esbuild into static/dist/builder.bundle.js (+ .css) by the
 * Makefile; never committed. The page (templates/templating/visual.html)
 * embeds its configuration as JSON in #builder-config: the template's blocks
 * as designer/templating/blocks.py cut them, the body's attributes and the
 * head's styles (so the canvas shows mj-attributes and mj-class).
 *
 * One source of truth: the MJML. Editable blocks (sections the builder can
 * represent) become components that remember their block id and the MJML they
 * serialised to when loaded; everything else is a locked component that shows
 * its code and writes it back verbatim. Saving writes the head, then each
 * top-level component (an untouched block as its ORIGINAL source, an edited or
 * new one as the builder's MJML), with the original whitespace between them,
 * then the tail: code outside edited blocks stays byte-identical.
 *
 * Merge fields and Jinja statements inside text show as chips in the canvas
 * and are written back as the plain {{ … }} / {% … %} they came from.
 *
 * Blocks dropped on the canvas land where the pointer is released
 * (builder-drop.js); sections can be saved as blocks for every template
 * (builder-saved-blocks.js).
 *
 * Saving, previewing, merge fields, images and saved blocks go through the REST
 * API (/api/v1, api.js) with the page's session and CSRF token.
 *
 * The builder speaks the page's language (<html lang>): GrapesJS and grapesjs-mjml
 * through their own locale files, our texts through the page's #ui-strings (i18n.js).
 *
 * Exposes window.DesignerBuilder = {editor, source(), save()} and dispatches
 * "designer:builder-ready" on document once the template is loaded. Every edit
 * after that (and every save) is told to the page guards (static/js/guards.js)
 * with a "designer:unsaved" event, so leaving with unsaved work asks first.
 */
import grapesjs from "grapesjs";
import "grapesjs/dist/css/grapes.min.css";
import grapesjsDe from "grapesjs/locale/de.mjs";
import grapesjsNl from "grapesjs/locale/nl.mjs";
import mjmlPlugin from "grapesjs-mjml";
import mjmlDe from "grapesjs-mjml/locale/de";
import mjmlNl from "grapesjs-mjml/locale/nl";
import mjml2html from "mjml-browser";
import { allPages, csrfToken, requestJson } from "./api.js";
import { canvasAsSaved } from "./builder-canvas.js";
import { settleDropsOnRelease } from "./builder-drop.js";
import { initSavedBlocks } from "./builder-saved-blocks.js";
import { pageLanguage, t } from "./i18n.js";

const SECTION_TYPES = ["mj-section", "mj-wrapper", "mj-hero"];
const ENDING_TAGS = new Set(["mj-text", "mj-button", "mj-navbar-link", "mj-social-element", "mj-raw"]);
const JINJA = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}|\{#[\s\S]*?#\}/g;
const LOCKED = "designer-locked";
const FIELD = "designer-field";
const PLACEHOLDER_IMAGE =
  "data:image/svg+xml;charset=utf-8," +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="300"><rect width="100%" height="100%" fill="#e2e8f0"/>' +
      '<text x="50%" y="50%" font-family="sans-serif" font-size="24" fill="#64748b" text-anchor="middle">Image</text></svg>'
  );

/* ---- Text helpers: escape HTML outside Jinja tags, never inside them. ---- */

function outsideJinja(text, escape) {
  let out = "";
  let last = 0;
  text.replace(JINJA, (tag, offset) => {
    out += escape(text.slice(last, offset)) + tag;
    last = offset + tag.length;
    return tag;
  });
  return out + escape(text.slice(last));
}
const escapeText = (s) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\u00a0/g, "&nbsp;");
const escapeAttribute = (s) => escapeText(s).replace(/"/g, "&quot;");

/* ---- Serialising components back to MJML. ---- */

function isBlankText(component) {
  return component.is("textnode") && !String(component.get("content") || "").trim();
}

/** Attributes to write: grapesjs-mjml leaves out values equal to its defaults, but one the
 * author wrote stays (mj-attributes or mj-class may set another default). */
function attributeString(component) {
  const attributes = { ...component.getAttrToHTML() };
  const all = component.get("attributes") || {};
  for (const name of component.get("designerExplicit") || []) {
    if (!(name in attributes) && name in all && name !== "id" && name !== "style") attributes[name] = all[name];
  }
  if (component.get("type") === "mj-image" && component.get("src")) {
    attributes.src = component.get("src");
  }
  let out = "";
  for (const name of Object.keys(attributes)) {
    const value = attributes[name];
    if (value === undefined || value === null || value === "" || typeof value === "object") continue;
    out += ` ${name}="${outsideJinja(String(value), escapeAttribute)}"`;
  }
  return out;
}

function innerHTML(component) {
  return (component.get("content") || "") + component.components().map((c) => c.toHTML()).join("");
}

/** The MJML of a component; nested elements indented under ``indent``. */
function toMjml(component, indent) {
  if (component.get("type") === LOCKED) return component.get("source");
  const tag = String(component.get("tagName") || "").toLowerCase();
  if (!tag.startsWith("mj-")) return component.toHTML();
  const open = `<${tag}${attributeString(component)}`;
  if (ENDING_TAGS.has(tag)) return `${open}>${innerHTML(component)}</${tag}>`;
  const children = component.components().filter((c) => !isBlankText(c));
  if (!children.length) return `${open} />`;
  const inner = indent + "  ";
  return (
    `${open}>\n` +
    children.map((c) => inner + toMjml(c, inner)).join("\n") +
    `\n${indent}</${tag}>`
  );
}

/* ---- The document: blocks in, source out. ---- */

class Document {
  constructor(data) {
    this.blocks = data.blocks;
    this.head = this.blocks[0];
    this.tail = this.blocks[this.blocks.length - 1];
    this.lead = new Map(); // block id -> the whitespace before it
    this.trailing = "";
    let space = "";
    for (const block of this.blocks.slice(1)) {
      if (block.kind === "space") {
        space = block.source;
        continue;
      }
      if (block.kind === "tail") this.trailing = space;
      else this.lead.set(block.id, space);
      space = "";
    }
    const firstSection = this.blocks.find((b) => b.kind === "section");
    const sample = firstSection ? this.lead.get(firstSection.id) : "";
    this.newLead = "\n" + (indentOf(sample) || "    ");
    this.baseline = new WeakMap(); // component -> MJML at load time
  }

  byId(id) {
    return this.blocks[id];
  }

  /** The MJML source for the body's components, as described at the top. */
  source(components) {
    let out = this.head.source;
    for (const component of components) {
      if (isBlankText(component)) continue;
      const id = component.get("designerBlock");
      const known = id !== undefined && id !== null && this.lead.has(id);
      const lead = known ? this.lead.get(id) : this.newLead;
      out += lead + this.sourceOf(component, lead);
    }
    return out + this.trailing + this.tail.source;
  }

  sourceOf(component, lead) {
    const id = component.get("designerBlock");
    if (component.get("type") === LOCKED) return component.get("source");
    const now = withWrappers(component, toMjml(component, indentOf(lead)), indentOf(lead));
    if (id !== undefined && id !== null && this.baseline.get(component) === now) {
      return this.byId(id).source;
    }
    return now;
  }
}

function indentOf(whitespace) {
  const lines = String(whitespace || "").split("\n");
  return lines[lines.length - 1].replace(/[^ \t]/g, "");
}

/* Conditions and loops from the settings panel: Jinja statements around a section. */
function withWrappers(component, mjml, indent) {
  const condition = String(component.get("designerCondition") || "").trim();
  const loop = String(component.get("designerLoop") || "").trim();
  let out = mjml;
  if (loop) out = `{% for ${loop} %}\n${indent}${out}\n${indent}{% endfor %}`;
  if (condition) out = `{% if ${condition} %}\n${indent}${out}\n${indent}{% endif %}`;
  return out;
}

/* ---- Component types of our own. ---- */

function fieldLabel(expression, labels) {
  const inner = expression.replace(/^\{[{%#]-?\s*|\s*-?[}%#]\}$/g, "");
  if (expression.startsWith("{{")) {
    const name = inner.split("|")[0].trim();
    const label = labels.get(name);
    if (label) return inner.includes("|") ? `${label} …` : label;
  }
  return inner;
}

function designerTypes(editor, labels) {
  const Components = editor.Components;

  // Text outside Jinja tags is escaped; the tags themselves stay as written.
  Components.addType("textnode", {
    model: {
      __escapeContent(content) {
        return outsideJinja(String(content), escapeText);
      },
    },
  });

  // A block the builder cannot represent: shown as code, saved verbatim.
  Components.addType(LOCKED, {
    model: {
      defaults: {
        tagName: "div",
        name: t("Code (locked)"),
        draggable: false,
        droppable: false,
        removable: false,
        copyable: false,
        editable: false,
        stylable: false,
        badgable: true,
        source: "",
        reason: "",
      },
      toHTML() {
        return this.get("source");
      },
    },
    view: {
      render() {
        const el = this.el;
        el.innerHTML = "";
        el.className = "designer-locked";
        el.setAttribute(
          "style",
          "margin:4px auto;max-width:600px;border:1px dashed #94a3b8;background:#f8fafc;" +
            "color:#334155;font:12px/1.45 ui-monospace,Menlo,Consolas,monospace;padding:6px 10px;"
        );
        const note = el.ownerDocument.createElement("div");
        note.setAttribute("style", "font:bold 11px sans-serif;color:#64748b;margin-bottom:4px");
        const reason = this.model.get("reason");
        note.textContent = reason
          ? t("Code, kept as written (%(reason)s) · edit it in Code mode", { reason })
          : t("Code, kept as written · edit it in Code mode");
        const pre = el.ownerDocument.createElement("pre");
        pre.setAttribute("style", "margin:0;white-space:pre-wrap;max-height:10em;overflow:hidden");
        pre.textContent = this.model.get("source");
        el.appendChild(note);
        el.appendChild(pre);
        return this;
      },
    },
  });

  // A merge field or Jinja statement inside text, shown as a chip.
  Components.addType(FIELD, {
    isComponent(el) {
      if (el && el.nodeType === 1 && el.hasAttribute && el.hasAttribute("data-designer-field")) {
        return { type: FIELD, expression: el.getAttribute("data-designer-field"), components: [] };
      }
      return undefined;
    },
    model: {
      defaults: {
        tagName: "span",
        name: t("Merge field"),
        droppable: false,
        editable: false,
        stylable: false,
        layerable: false,
        expression: "",
      },
      init() {
        this.components().reset();
      },
      toHTML() {
        return this.get("expression");
      },
    },
    view: {
      render() {
        const el = this.el;
        const expression = this.model.get("expression");
        const logic = !expression.startsWith("{{");
        el.innerHTML = "";
        el.className = logic ? "designer-field designer-logic" : "designer-field";
        el.setAttribute("data-designer-field", expression);
        el.setAttribute("contenteditable", "false");
        el.setAttribute("title", expression);
        el.setAttribute(
          "style",
          "display:inline-block;padding:0 6px;margin:0 1px;border-radius:9px;font:inherit;" +
            "font-size:0.85em;line-height:1.5;vertical-align:baseline;white-space:nowrap;" +
            (logic ? "background:#fef3c7;color:#92400e;border:1px solid #f59e0b;" : "background:#dbeafe;color:#1e3a8a;border:1px solid #60a5fa;")
        );
        el.textContent = fieldLabel(expression, labels);
        return this;
      },
    },
  });

  // Conditions and loops on top-level sections, from the settings panel.
  for (const type of SECTION_TYPES) {
    const base = Components.getType(type);
    if (!base) continue;
    const traits = (base.model.prototype.defaults.traits || []).slice();
    traits.push(
      { type: "text", name: "designerCondition", label: t("Show only when"), changeProp: true, placeholder: 'contact.language == "nl"' },
      { type: "text", name: "designerLoop", label: t("Repeat for each"), changeProp: true, placeholder: "line in invoice.lines" }
    );
    Components.addType(type, { model: { defaults: { traits } } });
  }
}

/* Text labels for GrapesJS's panel buttons (their icons come from an icon font we do not load),
 * in English: translated when shown. */
const PANEL_LABELS = {
  "sw-visibility": "Outlines",
  preview: "Hide panels",
  fullscreen: "Full screen",
  "open-sm": "Style",
  "open-tm": "Settings",
  "open-layers": "Layers",
  "open-blocks": "Blocks",
};

/** A block tile's picture, drawn like the plugin's own (one path, 24 × 24, even-odd). */
function tileIcon(path) {
  return `<svg viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" fill-rule="evenodd" d="${path}"/></svg>`;
}

function relabelPanels(editor) {
  editor.on("load", () => {
    for (const panel of editor.Panels.getPanels().models) {
      const buttons = panel.get("buttons");
      // A button with neither label nor command would be an empty tile in the bar.
      buttons.remove(buttons.filter((button) => !button.get("label") && !button.get("command")));
      for (const button of buttons.models) {
        const label = PANEL_LABELS[button.id] && t(PANEL_LABELS[button.id]);
        if (!label) continue;
        button.set({ className: "designer-pn-label", label, attributes: { ...button.get("attributes"), title: label } });
        if (button.view) {
          button.view.el.className = button.view.el.className.replace(/\bfa(-[\w-]+)?\b/g, "").trim();
          button.view.el.textContent = label;
        }
      }
    }
    // Their tooltips in the same words, once the panels have drawn the plugin's ("Preview").
    setTimeout(() => {
      for (const el of editor.Panels.getPanelsEl().querySelectorAll(".designer-pn-label")) el.title = el.textContent;
    });
  });
}

/* ---- Loading. ---- */

/* Parsed definitions: whitespace between MJML elements left out (the serialiser indents),
 * and each element remembers which attributes its author wrote. */
function prepareDefinitions(definitions) {
  return definitions
    .filter((d) => !(d.type === "textnode" && !String(d.content || "").trim()))
    .map((d) => {
      const tag = String(d.tagName || "").toLowerCase();
      if (!tag.startsWith("mj-")) return d;
      const prepared = { ...d, designerExplicit: Object.keys(d.attributes || {}) };
      if (!ENDING_TAGS.has(tag) && Array.isArray(d.components)) {
        prepared.components = prepareDefinitions(d.components);
      }
      return prepared;
    });
}

function componentDefinitions(editor, doc) {
  const out = [];
  for (const block of doc.blocks) {
    if (block.kind === "head" || block.kind === "tail" || block.kind === "space") continue;
    if (block.editable) {
      const parsed = editor.Parser.parseHtml(block.markup, { keepEmptyTextNodes: true }).html;
      const list = prepareDefinitions(Array.isArray(parsed) ? parsed : [parsed]);
      if (list.length === 1) {
        // A condition or loop around the section (blocks.py folds them in) shows in its settings.
        out.push({ ...list[0], designerBlock: block.id, designerCondition: block.condition || "", designerLoop: block.loop || "" });
        continue;
      }
    }
    out.push({ type: LOCKED, source: block.source, reason: block.reason || "", designerBlock: block.id });
  }
  return out;
}

/* ---- The page around the editor. ---- */

function setStatus(text, kind) {
  const status = document.getElementById("builder-status");
  if (!status) return;
  status.textContent = text;
  status.className = "builder-status" + (kind ? ` is-${kind}` : "");
}

function snippetFor(field) {
  switch (field.type) {
    case "date":
      return `{{ ${field.name} | date }}`;
    case "datetime":
      return `{{ ${field.name} | datetime }}`;
    case "money":
      return `{{ ${field.name} | money(currency) }}`;
    default:
      return `{{ ${field.name} }}`;
  }
}

function chipHTML(expression) {
  const value = expression.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  return `<span data-designer-field="${value}"></span>`;
}

/** Insert a merge field into the text being edited, else at the end of the selected text. */
function insertField(editor, expression) {
  const rte = editor.RichTextEditor;
  const editing = editor.getEditing && editor.getEditing();
  if (editing && rte.globalRte) {
    rte.globalRte.insertHTML(chipHTML(expression) + "\u200b");
    return true;
  }
  const selected = editor.getSelected();
  const text = selected && (selected.is("mj-text") || selected.is("mj-button")) ? selected : null;
  if (!text) return false;
  text.components().add({ type: FIELD, expression });
  return true;
}

/** The picker's list closes as a menu does: on Escape (focus back on its summary), and on a
 * click anywhere else, the canvas included, so it never stays open over the canvas. */
function closeWhenLeft(picker, canvasDocument) {
  const close = () => {
    picker.open = false;
  };
  picker.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !picker.open) return;
    close();
    picker.querySelector("summary").focus();
  });
  document.addEventListener("mousedown", (event) => {
    if (!picker.contains(event.target)) close();
  });
  if (canvasDocument) canvasDocument.addEventListener("mousedown", close);
}

function initFieldPicker(editor, config, labels) {
  const picker = document.getElementById("builder-fields");
  const list = document.getElementById("builder-field-list");
  const search = document.getElementById("builder-field-search");
  if (!picker || !list || !search) return Promise.resolve();
  let fields = [];

  function render() {
    const terms = search.value.toLowerCase().replace(/[._]/g, " ").split(/\s+/).filter(Boolean);
    list.textContent = "";
    for (const field of fields) {
      if (field.type === "list") continue;
      const haystack = `${field.name} ${field.label || ""}`.toLowerCase().replace(/[._]/g, " ");
      if (!terms.every((t) => haystack.includes(t))) continue;
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "field-option";
      button.setAttribute("data-field", field.name);
      button.title = t("Insert %(snippet)s", { snippet: snippetFor(field) });
      const label = document.createElement("span");
      label.className = "field-label";
      label.textContent = field.label || field.name;
      const code = document.createElement("code");
      code.textContent = field.name;
      button.append(label, code);
      // Keep the canvas's text selection: act on mousedown, not after focus moves.
      button.addEventListener("mousedown", (event) => event.preventDefault());
      button.addEventListener("click", () => {
        if (insertField(editor, snippetFor(field))) {
          setStatus(t("Inserted %(field)s.", { field: field.label || field.name }));
          picker.open = false;
        } else setStatus(t("Select a text or button block first, then pick the field."), "error");
      });
      item.appendChild(button);
      list.appendChild(item);
    }
  }

  search.addEventListener("input", render);
  closeWhenLeft(picker, editor.Canvas.getDocument());
  return requestJson(config.fields_url)
    .then((body) => {
      fields = (body && body.fields) || [];
      for (const field of fields) labels.set(field.name, field.label || field.name);
      render();
    })
    .catch(() => setStatus(t("Could not load the merge fields."), "error"));
}

function initPreview(builder, config) {
  const button = document.getElementById("builder-preview-button");
  const frame = document.getElementById("builder-preview");
  const contact = document.getElementById("builder-preview-contact");
  const errorBox = document.getElementById("builder-preview-error");
  if (!button || !frame || !contact) return;
  button.addEventListener("click", async () => {
    await builder.flush();
    requestJson(config.preview_url, {
      method: "POST",
      body: { record_id: parseInt(contact.value, 10), source: builder.source() },
    })
      .then((body) => {
        errorBox.hidden = true;
        frame.hidden = false;
        frame.setAttribute("sandbox", "");
        frame.srcdoc = body.html || "";
      })
      .catch((error) => {
        errorBox.textContent = error.message;
        errorBox.hidden = false;
      });
  });
  for (const width of document.querySelectorAll("[data-builder-width]")) {
    width.addEventListener("click", () => {
      frame.style.width = width.getAttribute("data-builder-width");
      for (const other of document.querySelectorAll("[data-builder-width]")) {
        other.classList.toggle("is-active", other === width);
        other.setAttribute("aria-pressed", other === width ? "true" : "false");
      }
    });
  }
  const testContact = document.getElementById("builder-test-contact");
  if (testContact) {
    testContact.value = contact.value;
    contact.addEventListener("change", () => (testContact.value = contact.value));
  }
}

function init() {
  const configEl = document.getElementById("builder-config");
  const container = document.getElementById("gjs");
  if (!configEl || !container) return;
  const config = JSON.parse(configEl.textContent);
  const data = config.document;
  const doc = new Document(data);
  const labels = new Map();
  let version = config.version;

  // The canvas compiles each component with the template's own head (mj-attributes, mj-class).
  const head = data.canvas_head || "";
  const canvasParser = (input, options) => {
    const withHead = typeof input === "string" && head ? input.replace(/^<mjml>/, `<mjml>${head}`) : input;
    try {
      return mjml2html(withHead, options);
    } catch (error) {
      window.__mjmlErrors = (window.__mjmlErrors || []).concat([String(input).slice(0, 300)]);
      return mjml2html(input, options);
    }
  };

  const editor = grapesjs.init({
    container,
    height: "100%",
    width: "auto",
    fromElement: false,
    storageManager: false,
    telemetry: false,
    noticeOnUnload: false,
    // GrapesJS's own panels, dialogs and names in the page's language (its locale files).
    i18n: {
      locale: pageLanguage(),
      localeFallback: "en",
      detectLocale: false,
      messages: { nl: grapesjsNl, de: grapesjsDe },
    },
    plugins: [
      (ed) =>
        mjmlPlugin(ed, {
          mjmlParser: canvasParser,
          imagePlaceholderSrc: PLACEHOLDER_IMAGE,
          i18n: { nl: mjmlNl, de: mjmlDe }, // the plugin's names and buttons (its locale files)
          blocks: [
            "mj-1-column", "mj-2-columns", "mj-3-columns", "mj-text", "mj-button", "mj-image",
            "mj-divider", "mj-social-group", "mj-social-element", "mj-spacer", "mj-hero",
          ],
        }),
      (ed) => designerTypes(ed, labels),
      relabelPanels,
      canvasAsSaved, // last: every MJML type is defined by now
    ],
    cssIcons: "", // no icon font from a CDN: the panels get text labels instead
    assetManager: {
      upload: config.images_url,
      uploadName: "files",
      multiUpload: true,
      multiUploadSuffix: "", // the API reads every file from `files`
      autoAdd: true,
      headers: { "X-CSRFToken": csrfToken() },
      credentials: "same-origin",
      // The API answers {"images": [...]}; the asset manager adds {"data": [...]}.
      customFetch: (url, options) =>
        requestJson(url, { method: "POST", body: options.body }).then((body) => ({ data: body.images.map(imageAsset) })),
    },
  });

  editor.Blocks.add("designer-section", {
    label: t("Section"),
    media: tileIcon("M2 5h20v14H2zM4 7v10h16V7z"),
    category: t("Layout"),
    content: "<mj-section><mj-column></mj-column></mj-section>",
  });
  editor.Blocks.add("designer-button-section", {
    label: t("Button section"),
    media: tileIcon("M2 5h20v14H2zM4 7v10h16V7zM7 10h10v4H7z"),
    category: t("Layout"),
    content: '<mj-section><mj-column><mj-button href="https://example.com">Button</mj-button></mj-column></mj-section>',
  });
  editor.Blocks.add("designer-4-columns", {
    label: t("4 Columns"),
    media: tileIcon("M2 6h4v12H2zM7.33 6h4v12h-4zM12.67 6h4v12h-4zM18 6h4v12h-4z"),
    category: t("Layout"),
    content:
      "<mj-section><mj-column><mj-text>Content 1</mj-text></mj-column><mj-column><mj-text>Content 2</mj-text></mj-column>" +
      "<mj-column><mj-text>Content 3</mj-text></mj-column><mj-column><mj-text>Content 4</mj-text></mj-column></mj-section>",
  });
  // The recipient's own copy of the message in a browser (designer.mail.webview).
  editor.Blocks.add("designer-webview-link", {
    label: t("View in browser"),
    media: tileIcon("M2 4h20v16H2zM4 9v9h16V9zM5 5.5h2v2H5zM8 5.5h2v2H8z"),
    category: editor.I18n.t("grapesjs-mjml.category"), // beside the other content blocks
    content:
      '<mj-text align="center" font-size="12px"><a href="{{ webview_url }}">View this e-mail in your browser</a></mj-text>',
  });
  for (const id of ["mjml-import", "export-template"]) editor.Panels.removeButton("options", id);
  // The page's toolbar above the canvas has Undo, Redo and the device buttons, labelled in
  // words: the plugin's icon copies of them would be a second set.
  for (const id of ["undo", "redo"]) editor.Panels.removeButton("options", id);
  editor.Panels.removePanel("devices-c");

  editor.on("load", () => {
    editor.setComponents({
      type: "mjml",
      tagName: "mjml",
      components: [{ type: "mj-body", tagName: "mj-body", attributes: data.body_attributes, stylable: false, components: componentDefinitions(editor, data) }],
    });
    editor.getWrapper().set({ droppable: false }); // blocks go into mj-body, never around it
    const body = bodyOf(editor);
    for (const component of body.components().models) {
      if (component.get("designerBlock") === undefined || component.get("type") === LOCKED) continue;
      const lead = doc.lead.get(component.get("designerBlock"));
      doc.baseline.set(component, withWrappers(component, toMjml(component, indentOf(lead)), indentOf(lead)));
    }
    editor.UndoManager.clear();
    unsaved.watch();
    settleDropsOnRelease(editor);
    allPages(config.images_url, "images")
      .then((images) => editor.AssetManager.add(images.map(imageAsset)))
      .catch(() => {});
    initFieldPicker(editor, config, labels).then(() => {
      for (const chip of allComponents(body, FIELD)) chip.view && chip.view.render();
    });
    document.body.classList.add("builder-ready");
    document.dispatchEvent(new CustomEvent("designer:builder-ready"));
  });

  const unsaved = unsavedTracker(editor);
  const builder = {
    editor,
    source: () => doc.source(bodyOf(editor).components().models),
    /** The builder's own MJML for every loaded block (with its condition and loop), as if
     * each had been edited. */
    builderMjml() {
      return bodyOf(editor)
        .components()
        .filter((c) => c.get("designerBlock") !== undefined && c.get("type") !== LOCKED)
        .map((c) => {
          const lead = doc.lead.get(c.get("designerBlock"));
          return { id: c.get("designerBlock"), mjml: withWrappers(c, toMjml(c, indentOf(lead)), indentOf(lead)) };
        });
    },
    /** Finish inline text editing, so the components hold what the canvas shows. */
    async flush() {
      const editing = editor.getEditing && editor.getEditing();
      if (editing && editing.view && editing.view.disableEditing) await editing.view.disableEditing();
    },
    async save() {
      await builder.flush();
      const source = builder.source();
      setStatus(t("Saving…"));
      return requestJson(config.save_url, { method: "POST", body: { source, base_version: version } })
        .then((body) => {
          version = body.number;
          const label = document.getElementById("builder-version");
          if (label) label.textContent = String(version);
          const warnings = (body.warnings || []).length ? " " + t("Check: %(warnings)s", { warnings: body.warnings.join("; ") }) : "";
          setStatus(t("Saved as version %(number)s.", { number: body.number }) + warnings, "success");
          unsaved.saved();
          return body;
        })
        .catch((error) => {
          setStatus(t("Not saved: %(error)s", { error: error.message }), "error");
          throw error;
        });
    },
  };
  window.DesignerBuilder = builder;
  initSavedBlocks(editor, config, { toMjml, flush: builder.flush, setStatus });

  const save = document.getElementById("builder-save");
  if (save) save.addEventListener("click", () => builder.save().catch(() => {}));
  const undo = document.getElementById("builder-undo");
  if (undo) undo.addEventListener("click", () => editor.UndoManager.undo());
  const redo = document.getElementById("builder-redo");
  if (redo) redo.addEventListener("click", () => editor.UndoManager.redo());
  for (const device of document.querySelectorAll("[data-builder-device]")) {
    device.addEventListener("click", () => {
      editor.setDevice(device.getAttribute("data-builder-device"));
      for (const other of document.querySelectorAll("[data-builder-device]")) {
        other.classList.toggle("is-active", other === device);
        other.setAttribute("aria-pressed", other === device ? "true" : "false");
      }
    });
  }
  initPreview(builder, config);
}

/** Whether the canvas holds edits not saved yet, told to the page with "designer:unsaved":
 * any change to the components, or typing in a text block (saved into the components only
 * when the editing ends). */
function unsavedTracker(editor) {
  let unsaved = false;
  const tell = (value) => {
    if (value === unsaved) return;
    unsaved = value;
    const detail = { key: "builder", unsaved, what: t("the template") };
    document.dispatchEvent(new CustomEvent("designer:unsaved", { detail }));
  };
  return {
    watch() {
      editor.clearDirtyCount();
      editor.on("update", () => tell(editor.getDirtyCount() > 0));
      const canvas = editor.Canvas.getDocument();
      if (canvas) canvas.addEventListener("input", () => tell(true));
    },
    saved() {
      editor.clearDirtyCount();
      tell(false);
    },
  };
}

/** An image as the API lists it, as the asset manager shows it. */
function imageAsset(image) {
  return { src: image.src, name: image.name, type: "image" };
}

function bodyOf(editor) {
  return editor.getWrapper().findType("mj-body")[0];
}

function allComponents(component, type) {
  const found = [];
  component.components().forEach((child) => {
    if (child.get("type") === type) found.push(child);
    found.push(...allComponents(child, type));
  });
  return found;
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", init);
} else {
  init();
}
