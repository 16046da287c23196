/* Designer template editor: CodeMirror 6 on the page's <textarea id="source">.
 *
 * Bundled by esbuild into static/dist/editor.bundle.js (`make run`/`make test`
 * build it; it is never committed). The textarea stays in the form: it is
 * hidden once CodeMirror is mounted and its value is kept in sync on every
 * change, so the normal form POST works unchanged. Each change also dispatches
 * a bubbling "designer:change" event on the textarea, which the live preview
 * (static/js/editor.js) listens to. Without this bundle the plain textarea
 * remains and everything still works.
 *
 * CodeMirror's own words (its search panel, folding) are in the page's language.
 *
 * Exposes window.DesignerEditor = {insertAtCursor(text), setErrorLine(n),
 * getValue()} and dispatches "designer:ready" on document once mounted.
 */
import { basicSetup } from "codemirror";
import { html } from "@codemirror/lang-html";
import { xml } from "@codemirror/lang-xml";
import { EditorState, StateEffect, StateField } from "@codemirror/state";
import {
  Decoration,
  EditorView,
  MatchDecorator,
  ViewPlugin,
  keymap,
} from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { tags } from "@lezer/highlight";
import { t } from "./i18n.js";

const CHANGE_EVENT = "designer:change";

// CodeMirror's own words (search panel, folding, screen-reader announcements), in English:
// each is looked up in the page's language (designer/js_strings.py lists them).
const PHRASES = [
  "Find", "next", "previous", "all", "match case", "regexp", "by word", "Replace", "replace",
  "replace all", "close", "current match", "on line", "replaced match on line $",
  "replaced $ matches", "Go to line", "go", "Folded lines", "Unfolded lines", "to",
  "folded code", "unfold", "Fold line", "Unfold line", "Selection deleted",
  "Control character", "Completions",
];

function phrases() {
  const translated = {};
  for (const phrase of PHRASES) translated[phrase] = t(phrase);
  return translated;
}

// CodeMirror's default colours, darkened where they read below 4.5:1 on the editor's
// light background (it replaces the default style, which applies only as a fallback).
const readableHighlight = HighlightStyle.define([
  { tag: tags.meta, color: "#404740" },
  { tag: tags.link, textDecoration: "underline" },
  { tag: tags.heading, textDecoration: "underline", fontWeight: "bold" },
  { tag: tags.emphasis, fontStyle: "italic" },
  { tag: tags.strong, fontWeight: "bold" },
  { tag: tags.strikethrough, textDecoration: "line-through" },
  { tag: tags.keyword, color: "#708" },
  { tag: [tags.atom, tags.bool, tags.url, tags.contentSeparator, tags.labelName], color: "#219" },
  { tag: [tags.literal, tags.inserted], color: "#164" },
  { tag: [tags.string, tags.deleted], color: "#a11" },
  { tag: [tags.regexp, tags.escape, tags.special(tags.string)], color: "#a32c00" },
  { tag: tags.definition(tags.variableName), color: "#00c" },
  { tag: tags.local(tags.variableName), color: "#30a" },
  { tag: [tags.typeName, tags.namespace], color: "#066440" },
  { tag: tags.className, color: "#167" },
  { tag: [tags.special(tags.variableName), tags.macroName], color: "#256" },
  { tag: tags.definition(tags.propertyName), color: "#00c" },
  { tag: tags.comment, color: "#7a3b00" },
  { tag: tags.invalid, color: "#c00000" },
]);

// Jinja merge tags ({{ … }}, {% … %}, {# … #}) on top of the XML/HTML colours.
const jinjaMark = Decoration.mark({ class: "cm-jinja" });
const jinjaMatcher = new MatchDecorator({
  regexp: /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}|\{#[\s\S]*?#\}/g,
  decoration: () => jinjaMark,
});
const jinjaHighlight = ViewPlugin.fromClass(
  class {
    constructor(view) {
      this.decorations = jinjaMatcher.createDeco(view);
    }
    update(update) {
      this.decorations = jinjaMatcher.updateDeco(update, this.decorations);
    }
  },
  { decorations: (plugin) => plugin.decorations }
);

// The line the server (or the live preview) reported an error on.
const setErrorEffect = StateEffect.define();
const errorLineDeco = Decoration.line({ class: "cm-error-line" });
const errorLineField = StateField.define({
  create: () => Decoration.none,
  update(deco, tr) {
    deco = deco.map(tr.changes);
    for (const effect of tr.effects) {
      if (!effect.is(setErrorEffect)) continue;
      const line = effect.value;
      deco = line == null ? Decoration.none : Decoration.set([errorLineDeco.range(line)]);
    }
    return deco;
  },
  provide: (field) => EditorView.decorations.from(field),
});

function languageFor(type) {
  return type === "html" ? html() : xml(); // MJML is XML
}

function mount(textarea) {
  const type = (textarea.getAttribute("data-source-type") || "mjml").toLowerCase();
  const label = textarea.id ? document.querySelector('label[for="' + textarea.id + '"]') : null;
  const contentAttributes = {
    spellcheck: "false",
    autocorrect: "off",
    autocapitalize: "off",
    // A tab stop of its own, so the scrolling editor is reachable by keyboard.
    tabindex: "0",
  };
  if (label) {
    if (!label.id) label.id = textarea.id + "-label";
    contentAttributes["aria-labelledby"] = label.id;
  }
  const describedBy = textarea.getAttribute("aria-describedby");
  if (describedBy) contentAttributes["aria-describedby"] = describedBy;

  const wrapper = document.createElement("div");
  wrapper.className = "code-editor";
  wrapper.setAttribute("data-source-type", type);
  textarea.parentNode.insertBefore(wrapper, textarea.nextSibling);

  function notify() {
    textarea.dispatchEvent(new CustomEvent(CHANGE_EVENT, { bubbles: true }));
  }

  let view;
  try {
    view = new EditorView({
      parent: wrapper,
      state: EditorState.create({
        doc: textarea.value,
        extensions: [
          basicSetup,
          syntaxHighlighting(readableHighlight),
          keymap.of([indentWithTab]),
          languageFor(type),
          jinjaHighlight,
          errorLineField,
          EditorView.lineWrapping,
          EditorView.contentAttributes.of(contentAttributes),
          EditorState.phrases.of(phrases()),
          EditorView.updateListener.of((update) => {
            if (!update.docChanged) return;
            textarea.value = update.state.doc.toString();
            notify();
          }),
        ],
      }),
    });
  } catch (error) {
    wrapper.remove();
    throw error;
  }

  textarea.hidden = true;
  textarea.classList.add("is-replaced");
  if (label) label.addEventListener("click", () => view.focus());

  // Someone set the textarea directly (a script, autofill): take its value.
  textarea.addEventListener("input", () => {
    const value = textarea.value;
    if (value === view.state.doc.toString()) return;
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } });
  });

  function insertAtCursor(text) {
    const range = view.state.selection.main;
    view.dispatch({
      changes: { from: range.from, to: range.to, insert: String(text) },
      selection: { anchor: range.from + String(text).length },
      scrollIntoView: true,
      userEvent: "input",
    });
    view.focus();
  }

  function setErrorLine(n, options) {
    const scroll = !options || options.scroll !== false;
    const number = parseInt(n, 10);
    if (!number || number < 1) {
      view.dispatch({ effects: setErrorEffect.of(null) });
      return;
    }
    const line = view.state.doc.line(Math.min(number, view.state.doc.lines));
    const effects = [setErrorEffect.of(line.from)];
    if (scroll) effects.push(EditorView.scrollIntoView(line.from, { y: "center" }));
    view.dispatch({
      effects,
      selection: scroll ? { anchor: line.from } : undefined,
    });
  }

  function getValue() {
    return view.state.doc.toString();
  }

  window.DesignerEditor = { insertAtCursor, setErrorLine, getValue, view };
  document.dispatchEvent(new CustomEvent("designer:ready"));
}

function init() {
  const textarea = document.getElementById("source");
  if (!textarea || window.DesignerEditor) return;
  try {
    mount(textarea);
  } catch (error) {
    // Keep the plain textarea: the page works without the code editor.
    textarea.hidden = false;
    if (window.console) console.error("Designer: the code editor could not start", error);
  }
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", init);
} else {
  init();
}
