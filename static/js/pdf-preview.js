/* PDF editor preview: renders the unsaved source for the chosen record and shows one page
   as a picture; errors appear with their line. Calls the REST API
   (/api/v1/templates/<id>/pdf-preview) with the page's session and CSRF token. */
(function () {
  "use strict";

  /* A text in the page's language (window.designerText, static/js/i18n.js), else the English. */
  function t(english, values) {
    if (window.designerText) return window.designerText(english, values);
    return english.replace(/%\((\w+)\)s/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  var DEBOUNCE_MS = 800;

  function init() {
    var pane = document.querySelector("[data-pdf-preview-url]");
    if (!pane) return;
    var url = pane.getAttribute("data-pdf-preview-url");
    var source = document.getElementById("source");
    var record = document.getElementById("pdf-record");
    var image = document.getElementById("pdf-page");
    var label = document.getElementById("pdf-page-label");
    var errorBox = document.getElementById("pdf-error");
    var download = document.getElementById("pdf-download");
    var meta = document.querySelector('meta[name="csrf-token"]');
    var csrfToken = meta ? meta.getAttribute("content") : "";
    if (!source || !record || !image) return;
    var page = 1;
    var pages = 1;
    var timer = null;
    var sequence = 0;

    function showError(message, line) {
      if (line && window.DesignerEditor) window.DesignerEditor.setErrorLine(line, { scroll: false });
      message = message || t("The preview failed.");
      errorBox.textContent = line ? t("Line %(line)s: %(message)s", { line: line, message: message }) : message;
      errorBox.hidden = false;
    }

    function clearError() {
      if (window.DesignerEditor) window.DesignerEditor.setErrorLine(null);
      errorBox.textContent = "";
      errorBox.hidden = true;
    }

    function sourceValue() {
      return window.DesignerEditor && window.DesignerEditor.getValue
        ? window.DesignerEditor.getValue() : source.value;
    }

    function refresh() {
      if (timer) { clearTimeout(timer); timer = null; }
      var mine = ++sequence;
      var body = JSON.stringify({
        record_id: parseInt(record.value.split(":").pop(), 10),  // "invoice:12"
        source: sourceValue(),
        page: page
      });
      pane.classList.add("is-loading");
      fetch(url, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json",
                   "X-CSRFToken": csrfToken }
      })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; },
            function () { return { ok: false, body: null, status: response.status }; });
        })
        .then(function (result) {
          if (mine !== sequence) return;
          if (result.ok) {
            clearError();
            pages = result.body.pages;
            page = Math.min(page, pages);
            image.src = result.body.image;
            image.alt = t("Page %(page)s of %(pages)s of the PDF", { page: page, pages: pages });
            label.textContent = t("Page %(page)s of %(pages)s", { page: page, pages: pages });
            return;
          }
          var err = result.body && result.body.error;
          showError(err ? err.message : t("The preview failed (HTTP %(status)s).", { status: result.status }),
            err && err.details && err.details.line);
        })
        .catch(function () {
          if (mine === sequence) showError(t("Could not reach the server for a preview."));
        })
        .then(function () { if (mine === sequence) pane.classList.remove("is-loading"); });
    }

    function schedule() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(refresh, DEBOUNCE_MS);
    }

    function go(step) {
      var next = Math.min(Math.max(page + step, 1), pages);
      if (next !== page) { page = next; refresh(); }
    }

    source.addEventListener("input", schedule);
    source.addEventListener("designer:change", schedule);
    record.addEventListener("change", function () {
      page = 1;
      if (download) {
        var parts = record.value.split(":");
        download.href = download.href.replace(/\/records\/[^/]+\/\d+\/pdf/,
          "/records/" + parts[0] + "/" + parts[1] + "/pdf");
      }
      refresh();
    });
    document.getElementById("pdf-prev").addEventListener("click", function () { go(-1); });
    document.getElementById("pdf-next").addEventListener("click", function () { go(1); });
    document.getElementById("pdf-refresh").addEventListener("click", refresh);
    refresh();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
