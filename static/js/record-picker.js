/* The searchable record picker (designer/templates/_record_picker.html), loaded on every
 * page by base.html; it acts on each [data-record-picker]. Without it the field is plain
 * text and the server finds the record the text names.
 *
 * With it the text field is an ARIA combobox (the 1.2 pattern): typing asks the picker's
 * search URL (JSON, at most ten records) and lists the matches under the field; Arrow
 * Down / Up move through them, Enter chooses, Escape closes the list (a second Escape
 * puts back the record chosen before). Choosing writes the record's label into the field
 * and its id (with the picker's prefix, "invoice:") into the hidden field, and fires
 * "change" on that hidden field, which the previews listen to.
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

  var DEBOUNCE_MS = 200;
  var counter = 0;

  function enhance(root) {
    var url = root.getAttribute("data-record-picker");
    var prefix = root.getAttribute("data-record-picker-prefix") || "";
    var input = root.querySelector("[data-record-picker-input]");
    var hidden = root.querySelector("[data-record-picker-value]");
    if (!url || !input || !hidden) return;
    var id = input.id || "record-picker-" + ++counter;
    var list = document.createElement("ul");
    var status = document.createElement("p");
    var chosen = { label: input.value, value: hidden.value };
    var results = [];
    var active = -1;
    var timer = null;
    var sequence = 0;

    list.id = id + "-list";
    list.className = "record-picker-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", (root.querySelector("label") || {}).textContent || t("Records"));
    list.hidden = true;
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    input.parentNode.appendChild(list);
    root.appendChild(status);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);

    function open(show) {
      list.hidden = !show;
      input.setAttribute("aria-expanded", show ? "true" : "false");
      if (!show) setActive(-1);
    }

    function setActive(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (item, i) {
        item.setAttribute("aria-selected", i === index ? "true" : "false");
        item.classList.toggle("is-active", i === index);
      });
      if (index >= 0 && list.children[index]) {
        input.setAttribute("aria-activedescendant", list.children[index].id);
        list.children[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function render(found) {
      results = found;
      list.textContent = "";
      found.forEach(function (result, index) {
        var item = document.createElement("li");
        var label = document.createElement("span");
        item.id = list.id + "-" + index;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.className = "record-picker-option";
        label.textContent = result.label;
        item.appendChild(label);
        if (result.detail) {
          var detail = document.createElement("span");
          detail.className = "record-picker-detail";
          detail.textContent = result.detail;
          item.appendChild(detail);
        }
        item.addEventListener("mousedown", function (event) { event.preventDefault(); });
        item.addEventListener("click", function () { choose(index); });
        list.appendChild(item);
      });
      status.textContent = found.length
        ? (found.length === 1
          ? t("1 match; use the arrow keys to choose.")
          : t("%(count)s matches; use the arrow keys to choose.", { count: found.length }))
        : t("Nothing matches.");
      open(found.length > 0);
      if (found.length) setActive(0);
    }

    function search() {
      timer = null;
      var mine = ++sequence;
      var query = input.value.trim().slice(0, 200);
      fetch(url + "?q=" + encodeURIComponent(query), {
        credentials: "same-origin", headers: { Accept: "application/json" }
      })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (body) { if (mine === sequence) render(body.results || []); })
        .catch(function () { if (mine === sequence) render([]); });
    }

    function choose(index) {
      var result = results[index];
      if (!result) return;
      input.value = result.label;
      hidden.value = prefix + result.id;
      chosen = { label: input.value, value: hidden.value };
      open(false);
      status.textContent = t("%(label)s chosen.", { label: result.label });
      hidden.dispatchEvent(new Event("change", { bubbles: true }));
    }

    input.addEventListener("input", function () {
      if (timer) clearTimeout(timer);
      timer = setTimeout(search, DEBOUNCE_MS);
    });

    input.addEventListener("keydown", function (event) {
      var count = list.children.length;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (list.hidden) { search(); return; }
        var step = event.key === "ArrowDown" ? 1 : -1;
        setActive(count ? (active + step + count) % count : -1);
      } else if (event.key === "Enter") {
        if (!list.hidden && active >= 0) {
          event.preventDefault(); // choosing, not submitting the form
          choose(active);
        }
      } else if (event.key === "Escape") {
        if (!list.hidden) {
          event.preventDefault();
          open(false);
        } else if (input.value !== chosen.label) {
          event.preventDefault();
          input.value = chosen.label;
          hidden.value = chosen.value;
        }
      }
    });

    input.addEventListener("blur", function () { open(false); });
  }

  function init() {
    document.querySelectorAll("[data-record-picker]").forEach(enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
