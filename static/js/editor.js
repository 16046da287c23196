/* Designer template editor: live preview of unsaved content.
 *
 * Sends the textarea's source and the subject (as FormData, with the CSRF
 * token in the X-CSRFToken header) to the preview URL and shows the merged
 * HTML in the sandboxed iframe via srcdoc. The iframe keeps sandbox="" (no
 * scripts, no same origin), so template content never runs with the
 * marketer's session. No third-party code.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 600;

  function init() {
    var wrapper = document.querySelector("[data-preview-url]");
    if (!wrapper) return;
    var previewUrl = wrapper.getAttribute("data-preview-url");
    var source = document.getElementById("source");
    var subject = document.getElementById("subject");
    var contact = document.getElementById("preview-contact");
    var frame = document.getElementById("preview");
    var subjectBox = document.getElementById("preview-subject");
    var errorBox = document.getElementById("preview-error");
    var button = document.getElementById("preview-button");
    var meta = document.querySelector('meta[name="csrf-token"]');
    var csrfToken = meta ? meta.getAttribute("content") : "";

    if (!source || !frame || !contact) return;

    var timer = null;
    var controller = null;
    var sequence = 0;

    function setSubject(text, locale) {
      if (!subjectBox) return;
      subjectBox.textContent = "";
      var label = document.createElement("span");
      label.className = "muted";
      label.textContent = "Subject: ";
      var value = document.createElement("strong");
      value.textContent = text || "(no subject)";
      subjectBox.appendChild(label);
      subjectBox.appendChild(value);
      if (locale) {
        var loc = document.createElement("span");
        loc.className = "badge badge-locale";
        loc.title = "Language used for dates and amounts";
        loc.textContent = locale;
        subjectBox.appendChild(document.createTextNode(" "));
        subjectBox.appendChild(loc);
      }
      subjectBox.hidden = false;
    }

    function showError(message, line) {
      if (!errorBox) return;
      errorBox.textContent = (line ? "Line " + line + ": " : "") + (message || "The preview failed.");
      errorBox.hidden = false;
    }

    function clearError() {
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

      var data = new FormData();
      data.append("source", source.value);
      data.append("subject", subject ? subject.value : "");
      data.append("contact", contact.value);

      setBusy(true);
      fetch(previewUrl, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken, "Accept": "application/json" },
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
            showError("Your session token expired. Reload the page and try again.");
          } else if (result.status === 401 || result.status === 403) {
            showError("You are logged out. Reload the page and log in again.");
          } else {
            showError("The preview failed (HTTP " + result.status + ").");
          }
        })
        .catch(function (error) {
          if (error && error.name === "AbortError") return;
          if (mine !== sequence) return;
          showError("Could not reach the server for a preview. Check your connection.");
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
    if (subject) subject.addEventListener("input", scheduleRefresh);
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

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
