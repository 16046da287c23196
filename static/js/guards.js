/* Designer page guards, loaded on every page by base.html (pages allow scripts from the
 * app only, so there are no inline handlers; everything is declared in the markup):
 *
 * - Confirmation: a form with data-confirm="…", or a submit button with it, asks with
 *   that text before it submits; cancelled, nothing is sent. "{name}" in the text is
 *   the value of the form's field called name ("Send an invitation to {email}?").
 * - Unsaved changes: a form with data-unsaved-guard="the template" is changed while
 *   its fields differ from what the page showed (data-unsaved-guard-changed: from the
 *   start, e.g. a save that was refused). The visual builder reports its own state with
 *   a "designer:unsaved" event on document ({detail: {unsaved, what}}). While anything
 *   is changed, leaving the page asks first: the browser's own prompt on closing or
 *   reloading, a question naming what is lost on an in-app link. Submitting the
 *   changed form is saving it, and asks nothing.
 * - Copy: a button with data-copy-target="ID" copies that element's text with the
 *   Clipboard API (it is hidden until this script shows it).
 */
(function () {
  "use strict";

  /* A text in the page's language (window.designerText, static/js/i18n.js), else the English. */
  function t(english, values) {
    if (window.designerText) return window.designerText(english, values);
    return english.replace(/%\((\w+)\)s/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  var snapshots = new Map(); // guarded form -> its fields as the page showed them
  var external = {}; // what another part (the visual builder) reports as unsaved
  var leaving = false; // the user already agreed to leave (or is saving)

  /* ---- confirmation ---- */

  function confirmText(form, button) {
    var text = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (!text) return null;
    return text.replace(/\{([A-Za-z_][\w-]*)\}/g, function (whole, name) {
      var field = form.elements.namedItem(name);
      return field && "value" in field ? field.value.trim() || t("(empty)") : whole;
    });
  }

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var text = confirmText(form, event.submitter);
      if (text !== null && !window.confirm(text)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  /* ---- unsaved changes ---- */

  function fieldsOf(form) {
    var parts = [];
    new FormData(form).forEach(function (value, name) {
      if (name === "csrf_token") return;
      parts.push(name + "=" + (typeof value === "string" ? value : value.name + ":" + value.size));
    });
    return parts.join("\u0000");
  }

  function changedForms() {
    var found = [];
    snapshots.forEach(function (snapshot, form) {
      if (!form.isConnected) return;
      if (snapshot === null || fieldsOf(form) !== snapshot) found.push(form);
    });
    return found;
  }

  /* What is not saved, in words ("the template"), or "" when everything is saved. */
  function unsavedWhat() {
    var forms = changedForms();
    if (forms.length) return forms[0].getAttribute("data-unsaved-guard") || t("this page");
    for (var key in external) if (external[key]) return external[key];
    return "";
  }

  function watch(form) {
    if (snapshots.has(form)) return;
    snapshots.set(form, form.hasAttribute("data-unsaved-guard-changed") ? null : fieldsOf(form));
  }

  function watchAll() {
    document.querySelectorAll("form[data-unsaved-guard]").forEach(watch);
  }

  document.addEventListener("designer:unsaved", function (event) {
    var detail = event.detail || {};
    var key = detail.key || "builder";
    external[key] = detail.unsaved ? detail.what || t("this page") : "";
  });

  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) return;
    var form = event.target;
    if (snapshots.has(form)) snapshots.set(form, fieldsOf(form)); // sent: saved or re-shown
    if (!unsavedWhat()) leaving = true;
  });

  window.addEventListener("beforeunload", function (event) {
    if (leaving || !unsavedWhat()) return;
    event.preventDefault();
    event.returnValue = "";
  });

  /* An in-app link away from unsaved work asks, naming what would be lost. */
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href]");
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    if (link.target && link.target !== "_self") return;
    if (link.hasAttribute("download")) return;
    var url = new URL(link.href, window.location.href);
    if (url.hash && url.pathname === window.location.pathname && url.search === window.location.search) return;
    var what = unsavedWhat();
    if (!what) return;
    if (window.confirm(t("Your changes to %(what)s are not saved. Leave this page and lose them?", { what: what }))) {
      leaving = true;
      setTimeout(function () { leaving = false; }, 3000); // a link that stays (a download)
    } else {
      event.preventDefault();
    }
  });

  /* ---- copy ---- */

  function copyText(button) {
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    if (!target) return;
    var text = ("value" in target ? target.value : target.textContent).trim();
    var label = button.getAttribute("data-copy-label") || button.textContent;
    button.setAttribute("data-copy-label", label);
    function say(message) {
      button.textContent = message;
      setTimeout(function () { button.textContent = label; }, 2500);
    }
    function selectInstead() {
      var range = document.createRange();
      range.selectNodeContents(target);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      say(t("Selected: press Ctrl+C"));
    }
    if (!navigator.clipboard || !window.isSecureContext) return selectInstead();
    navigator.clipboard.writeText(text).then(function () { say(t("Copied")); }, selectInstead);
  }

  function showCopyButtons() {
    document.querySelectorAll("button[data-copy-target]").forEach(function (button) {
      button.hidden = false;
      if (!button.getAttribute("aria-live")) button.setAttribute("aria-live", "polite");
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy-target]");
    if (button) copyText(button);
  });

  function init() {
    watchAll();
    showCopyButtons();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
