/* Designer template editor: live preview of unsaved content, the merge-field
 * picker and the "Send test to me" contact.
 *
 * Sends the source and the subject as JSON to the REST API's preview of the
 * template (/api/v1/templates/<id>/preview, with the page's session and its
 * CSRF token in the X-CSRFToken header) and shows the merged HTML in the
 * sandboxed iframe via srcdoc; the field picker loads /api/v1/fields/<module>. The iframe keeps sandbox="" (no
 * scripts, no same origin), so template content never runs with the
 * marketer's session.
 *
 * The code editor (static/dist/editor.bundle.js, CodeMirror, built from
 * static/src/) is optional: when it is loaded, window.DesignerEditor gives the
 * source and inserts at the cursor, and the textarea gets a "designer:change"
 * event on every edit. Without it, the plain textarea does all of that.
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

  var DEBOUNCE_MS = 600;

  function init() {
    var wrapper = document.querySelector("[data-preview-url]");
    if (!wrapper) return;
    var previewUrl = wrapper.getAttribute("data-preview-url");
    var source = document.getElementById("source");
    var subject = document.getElementById("subject");
    var preheader = document.getElementById("preheader");
    var contact = document.getElementById("preview-contact");
    var frame = document.getElementById("preview");
    var subjectBox = document.getElementById("preview-subject");
    var errorBox = document.getElementById("preview-error");
    var button = document.getElementById("preview-button");
    var meta = document.querySelector('meta[name="csrf-token"]');
    var csrfToken = meta ? meta.getAttribute("content") : "";

    if (source) {
      var errorLine = parseInt(source.getAttribute("data-error-line"), 10);
      if (errorLine) markErrorLine(source, errorLine, true);
      initFieldPicker(source);
    }
    initTestSend();

    if (!source || !frame || !contact) return;

    var timer = null;
    var controller = null;
    var sequence = 0;

    function setSubject(text, locale) {
      if (!subjectBox) return;
      subjectBox.textContent = "";
      var label = document.createElement("span");
      label.className = "muted";
      label.textContent = t("Subject:") + " ";
      var value = document.createElement("strong");
      value.textContent = text || t("(no subject)");
      subjectBox.appendChild(label);
      subjectBox.appendChild(value);
      if (locale) {
        var loc = document.createElement("span");
        loc.className = "badge badge-locale";
        loc.title = t("Language used for dates and amounts");
        loc.textContent = locale;
        subjectBox.appendChild(document.createTextNode(" "));
        subjectBox.appendChild(loc);
      }
      subjectBox.hidden = false;
    }

    function showError(message, line) {
      if (line && window.DesignerEditor) window.DesignerEditor.setErrorLine(line, { scroll: false });
      if (!errorBox) return;
      message = message || t("The preview failed.");
      errorBox.textContent = line ? t("Line %(line)s: %(message)s", { line: line, message: message }) : message;
      errorBox.hidden = false;
    }

    function clearError() {
      if (window.DesignerEditor) window.DesignerEditor.setErrorLine(null);
      if (!errorBox) return;
      errorBox.textContent = "";
      errorBox.hidden = true;
    }

    function setBusy(busy) {
      wrapper.classList.toggle("is-loading", busy);
      if (button) button.disabled = busy;
    }

    function refresh() {
      if (timer) {
        clearTimeout(timer);
        timer = null;
      }
      if (controller) controller.abort();
      controller = typeof AbortController === "function" ? new AbortController() : null;
      var mine = ++sequence;

      var body = JSON.stringify({
        record_id: parseInt(contact.value, 10),
        source: sourceValue(source),
        subject: subject ? subject.value : ""
      });

      setBusy(true);
      fetch(previewUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json",
                   "X-CSRFToken": csrfToken },
        signal: controller ? controller.signal : undefined
      })
        .then(function (response) {
          return response.json().then(
            function (body) { return { ok: response.ok, status: response.status, body: body }; },
            function () { return { ok: false, status: response.status, body: null }; }
          );
        })
        .then(function (result) {
          if (mine !== sequence) return;
          if (result.ok && result.body) {
            clearError();
            frame.setAttribute("sandbox", "");
            frame.srcdoc = result.body.html || "";
            setSubject(result.body.subject, result.body.locale);
            return;
          }
          var err = result.body && result.body.error;
          if (err) {
            showError(err.message, err.details && err.details.line);
          } else if (result.status === 400) {
            showError(t("Your session token expired. Reload the page and try again."));
          } else if (result.status === 401 || result.status === 403) {
            showError(t("You are logged out. Reload the page and log in again."));
          } else {
            showError(t("The preview failed (HTTP %(status)s).", { status: result.status }));
          }
        })
        .catch(function (error) {
          if (error && error.name === "AbortError") return;
          if (mine !== sequence) return;
          showError(t("Could not reach the server for a preview. Check your connection."));
        })
        .then(function () {
          if (mine === sequence) setBusy(false);
        });
    }

    function scheduleRefresh() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(refresh, DEBOUNCE_MS);
    }

    if (button) button.addEventListener("click", refresh);
    source.addEventListener("input", scheduleRefresh);
    source.addEventListener("designer:change", scheduleRefresh);
    if (subject) subject.addEventListener("input", scheduleRefresh);
    if (preheader) preheader.addEventListener("input", scheduleRefresh);
    contact.addEventListener("change", refresh);

    var widthButtons = document.querySelectorAll("[data-preview-width]");
    Array.prototype.forEach.call(widthButtons, function (btn) {
      btn.addEventListener("click", function () {
        frame.style.width = btn.getAttribute("data-preview-width");
        Array.prototype.forEach.call(widthButtons, function (other) {
          var active = other === btn;
          other.classList.toggle("is-active", active);
          other.setAttribute("aria-pressed", active ? "true" : "false");
        });
      });
    });

    // Fill in the merged subject and language for the first contact.
    refresh();
  }

  /* The source: from the code editor when it is mounted, else the textarea. */
  function sourceValue(textarea) {
    var editor = window.DesignerEditor;
    return editor && typeof editor.getValue === "function" ? editor.getValue() : textarea.value;
  }

  /* Insert at the cursor: the code editor, or the plain textarea. */
  function insertAtCursor(textarea, text) {
    var editor = window.DesignerEditor;
    if (editor && typeof editor.insertAtCursor === "function") {
      editor.insertAtCursor(text);
      return;
    }
    var start = textarea.selectionStart;
    var end = textarea.selectionEnd;
    if (typeof start !== "number") {
      textarea.value += text;
    } else if (typeof textarea.setRangeText === "function") {
      textarea.setRangeText(text, start, end, "end");
    } else {
      textarea.value = textarea.value.slice(0, start) + text + textarea.value.slice(end);
      textarea.selectionStart = textarea.selectionEnd = start + text.length;
    }
    textarea.focus();
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  /* The line a save failed on: highlighted in the code editor, selected in the textarea. */
  function markErrorLine(textarea, line, scroll) {
    var editor = window.DesignerEditor;
    if (editor && typeof editor.setErrorLine === "function") {
      editor.setErrorLine(line, { scroll: scroll });
      return;
    }
    var lines = textarea.value.split("\n");
    if (line > lines.length) return;
    var start = 0;
    for (var i = 0; i < line - 1; i++) start += lines[i].length + 1;
    if (typeof textarea.setSelectionRange === "function") {
      textarea.setSelectionRange(start, start + lines[line - 1].length);
    }
  }

  /* What a click on a merge field inserts, by the field's type. */
  function snippetFor(field) {
    var name = field.name;
    switch (field.type) {
      case "date":
        return "{{ " + name + " | date }}";
      case "datetime":
        return "{{ " + name + " | datetime }}";
      case "money":
        return "{{ " + name + " | money(currency) }}";
      case "list":
        return "{% for line in " + name + " %}\n  {{ line.name }}\n{% endfor %}";
      default:
        return "{{ " + name + " }}";
    }
  }

  /* The merge-field picker: fetched from the catalogue once, on first open. */
  function initFieldPicker(textarea) {
    var picker = document.getElementById("field-picker");
    if (!picker) return;
    var url = picker.getAttribute("data-fields-url");
    var search = document.getElementById("field-search");
    var list = document.getElementById("field-list");
    var status = document.getElementById("field-picker-status");
    if (!url || !search || !list) return;

    var fields = null;
    var loading = false;

    function setStatus(text) {
      if (!status) return;
      status.textContent = text;
      status.hidden = !text;
    }

    function matches(field, terms) {
      var haystack = (field.name + " " + (field.label || "")).toLowerCase().replace(/[._]/g, " ");
      return terms.every(function (term) { return haystack.indexOf(term) !== -1; });
    }

    function render() {
      var query = search.value.toLowerCase().replace(/[._]/g, " ").trim();
      var terms = query ? query.split(/\s+/) : [];
      list.textContent = "";
      var shown = 0;
      fields.forEach(function (field) {
        if (terms.length && !matches(field, terms)) return;
        shown++;
        var item = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "field-option";
        button.setAttribute("data-field", field.name);
        button.title = t("Insert %(snippet)s", { snippet: snippetFor(field) });
        var label = document.createElement("span");
        label.className = "field-label";
        label.textContent = field.label || field.name;
        var name = document.createElement("code");
        name.textContent = field.name;
        button.appendChild(label);
        button.appendChild(name);
        if (field.example) {
          var example = document.createElement("span");
          example.className = "field-example muted";
          example.textContent = t("e.g. %(example)s", { example: field.example });
          button.appendChild(example);
        }
        button.addEventListener("click", function () {
          insertAtCursor(textarea, snippetFor(field));
        });
        item.appendChild(button);
        list.appendChild(item);
      });
      setStatus(shown ? "" : t("No merge field matches “%(query)s”.", { query: search.value }));
    }

    function load() {
      if (fields || loading) return;
      loading = true;
      setStatus(t("Loading merge fields…"));
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (body) {
          fields = (body && body.fields) || [];
          render();
        })
        .catch(function () {
          setStatus(t("Could not load the merge fields. Reload the page to try again."));
        })
        .then(function () { loading = false; });
    }

    picker.addEventListener("toggle", function () {
      if (!picker.open) return;
      load();
      search.focus();
    });
    if (picker.open) load();
    search.addEventListener("input", function () { if (fields) render(); });
    search.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault(); // not a form submit: insert the first match instead
      var first = list.querySelector(".field-option");
      if (first) first.click();
    });
  }

  /* "Send test to me" merges for the contact the preview shows. */
  function initTestSend() {
    var select = document.getElementById("preview-contact");
    var hidden = document.getElementById("test-send-contact");
    if (!select || !hidden) return;
    hidden.value = select.value;
    select.addEventListener("change", function () { hidden.value = select.value; });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
