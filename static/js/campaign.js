/* Designer campaigns: live audience count while filtering, live progress bar while sending.
 * Vanilla JS calling the REST API (/api/v1) with the page's session and CSRF token. */
(function () {
  "use strict";

  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = meta ? meta.getAttribute("content") : "";
  var language = document.documentElement.lang || "en"; // numbers as the page writes them

  function liveAudienceCount() {
    var form = document.getElementById("campaign-form");
    var out = document.getElementById("audience-count");
    if (!form || !out) return;
    var timer = null;
    var sequence = 0;
    /* The filter rows as the API takes them; rows without a field or a value are left out. */
    function filters() {
      var data = new FormData(form);
      var fields = data.getAll("field"), ops = data.getAll("op"), values = data.getAll("value");
      var rows = [];
      for (var i = 0; i < fields.length; i++) {
        if (fields[i] && values[i] !== "" && values[i] !== undefined) {
          rows.push({ field: fields[i], op: ops[i] || "eq", value: values[i] });
        }
      }
      return rows;
    }
    function refresh() {
      var mine = ++sequence;
      fetch(form.getAttribute("data-count-url"), {
        method: "POST", body: JSON.stringify({ filters: filters() }), credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json",
                   "X-CSRFToken": csrfToken }
      }).then(function (r) { return r.json(); }).then(function (body) {
        if (mine !== sequence) return;
        out.textContent = body.error ? body.error.message : String(body.count);
      }).catch(function () { if (mine === sequence) out.textContent = "?"; });
    }
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 300);
    });
    form.addEventListener("change", refresh);
    refresh();
  }

  /* Each value box offers the values its row's field holds (a datalist per field). */
  function valueChoices() {
    var rows = document.querySelectorAll(".filter-row");
    Array.prototype.forEach.call(rows, function (row) {
      var field = row.querySelector('select[name="field"]');
      var value = row.querySelector('input[name="value"]');
      if (!field || !value) return;
      function link() {
        var list = document.getElementById("choices-" + field.value);
        if (list) value.setAttribute("list", list.id);
        else value.removeAttribute("list");
      }
      field.addEventListener("change", link);
      link();
    });
  }

  function liveProgress() {
    var box = document.getElementById("progress");
    if (!box) return;
    var url = box.getAttribute("data-progress-url");
    var stateBadge = document.getElementById("campaign-state");
    var initialState = stateBadge ? stateBadge.textContent.trim() : "";
    function set(id, value) {
      var el = document.getElementById(id);
      if (el) el.textContent = String(value);
    }
    function showQueuing(p) {
      var queuing = document.getElementById("queuing");
      if (!queuing) return;
      queuing.hidden = !p.queuing;
      if (!p.queuing) return;
      var percent = p.audience_size ? Math.round(1000 * p.audience_read / p.audience_size) / 10 : 0;
      set("queuing-read", p.audience_read.toLocaleString(language));
      if (p.audience_size !== null) set("queuing-size", p.audience_size.toLocaleString(language));
      document.getElementById("queuing-bar").style.width = percent + "%";
      queuing.querySelector("[role=progressbar]").setAttribute("aria-valuenow", percent);
    }
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (p) {
          document.getElementById("progress-bar").style.width = p.percent + "%";
          box.querySelector("[role=progressbar]").setAttribute("aria-valuenow", p.percent);
          set("progress-percent", p.percent);
          set("count-sent", p.sent);
          set("count-queued", p.queued);
          set("count-failed", p.failed);
          set("count-suppressed", p.suppressed);
          showQueuing(p);
          if (initialState && p.state !== initialState) {
            window.location.reload();  // the actions that make sense have changed
            return;
          }
          if (p.state === "sending" || p.state === "scheduled") setTimeout(poll, 1000);
        }).catch(function () { setTimeout(poll, 3000); });
    }
    poll();
  }

  document.addEventListener("DOMContentLoaded", function () {
    liveAudienceCount();
    valueChoices();
    liveProgress();
  });
})();
