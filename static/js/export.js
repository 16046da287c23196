/* Designer PDF export: the progress bar follows the export (through the REST API,
 * /api/v1/exports/<id>, with the page's session) until its download is ready. */
(function () {
  "use strict";

  /* A text in the page's language (window.designerText, static/js/i18n.js), else the English. */
  function t(english, values) {
    if (window.designerText) return window.designerText(english, values);
    return english.replace(/%\((\w+)\)s/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }
  var box = document.getElementById("export-progress");
  if (!box) return;
  var url = box.getAttribute("data-progress-url");

  function text(id, value) {
    var el = document.getElementById(id);
    if (el) el.textContent = String(value);
  }

  function failures(list) {
    var ul = document.getElementById("export-failure-list");
    ul.textContent = "";
    list.forEach(function (f) {
      var li = document.createElement("li");
      var name = document.createElement("strong");
      name.textContent = f.record;
      li.appendChild(name);
      li.appendChild(document.createTextNode(": " + f.error));
      ul.appendChild(li);
    });
    document.getElementById("export-failures").hidden = list.length === 0;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        document.getElementById("export-bar").style.width = p.percent + "%";
        box.querySelector(".progress").setAttribute("aria-valuenow", p.percent);
        text("export-percent", p.percent);
        text("export-rendered", p.rendered);
        text("export-failed", p.failed);
        text("export-state", t(String(p.state))); // queued, running, packing, done
        failures(p.failures);
        if (p.download) {
          document.getElementById("export-download").hidden = false;
        } else {
          setTimeout(poll, 1000);
        }
      }).catch(function () { setTimeout(poll, 3000); });
  }
  poll();
}());
