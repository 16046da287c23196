/* Drafts kept in this browser, loaded on every page by base.html: a form with
 * data-draft="KEY" (the code editor, a new template, a workflow) has its text fields
 * written to localStorage a second after each change, under "designer:draft:KEY",
 * with the time and what the page was based on (data-draft-base, "version 3").
 *
 * When the page opens and a kept draft differs from what the page shows (the tab was
 * closed, the browser crashed, a save never reached the server), a notice above the
 * form offers to restore it or discard it; restoring fills the fields (the code
 * editor follows its textarea's "input" event) and the unsaved-changes guard
 * (guards.js) then sees the form as changed. A draft equal to the page is dropped,
 * so a successful save clears it; a form that creates something (data-draft-once: a
 * new template or workflow) drops its draft when it is sent. Logging out (a form with data-clears-drafts)
 * removes every draft, so nothing is left on a shared computer. Passwords, files,
 * hidden fields and the CSRF token are never kept; boxes to tick are kept ticked or not.
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

  var PREFIX = "designer:draft:";
  var DELAY = 1000;

  function storage() {
    try {
      return window.localStorage;
    } catch (error) {
      return null; // storage refused (private mode, policy): no drafts, nothing breaks
    }
  }

  function keptFields(form) {
    return Array.prototype.filter.call(form.elements, function (field) {
      if (!field.name || field.disabled || field.name === "csrf_token") return false;
      if (field.tagName === "TEXTAREA") return true;
      if (field.tagName === "SELECT") return !field.multiple;
      return field.tagName === "INPUT" && /^(text|email|url|number|search|tel|date|datetime-local|time|checkbox|radio)$/.test(field.type);
    });
  }

  function ticked(field) {
    return field.type === "checkbox" || field.type === "radio";
  }

  /* A field's name in a draft: a box to tick is named with its value too. */
  function nameOf(field) {
    return ticked(field) ? field.name + "=" + field.value : field.name;
  }

  function valueOf(field) {
    if (!ticked(field)) return field.value;
    return field.checked ? "on" : "";
  }

  function valuesOf(form) {
    var values = {};
    keptFields(form).forEach(function (field) {
      values[nameOf(field)] = valueOf(field);
    });
    return values;
  }

  function same(left, right) {
    var names = Object.keys(left);
    if (names.length !== Object.keys(right).length) return false;
    return names.every(function (name) {
      return left[name] === right[name];
    });
  }

  function read(key) {
    var store = storage();
    if (!store) return null;
    try {
      var draft = JSON.parse(store.getItem(PREFIX + key) || "null");
      return draft && typeof draft.fields === "object" ? draft : null;
    } catch (error) {
      store.removeItem(PREFIX + key);
      return null;
    }
  }

  function write(key, draft) {
    var store = storage();
    if (!store) return;
    try {
      store.setItem(PREFIX + key, JSON.stringify(draft));
    } catch (error) {
      // Full (a very large template): the guard still asks before leaving.
    }
  }

  function forget(key) {
    var store = storage();
    if (store) store.removeItem(PREFIX + key);
  }

  function when(iso) {
    var moment = new Date(iso);
    if (isNaN(moment.getTime())) return t("earlier");
    var today = new Date().toDateString() === moment.toDateString();
    var language = document.documentElement.lang || [];
    var time = moment.toLocaleTimeString(language, { hour: "2-digit", minute: "2-digit" });
    if (today) return t("today at %(time)s", { time: time });
    return t("%(date)s at %(time)s", { date: moment.toLocaleDateString(language), time: time });
  }

  function restore(form, fields) {
    keptFields(form).forEach(function (field) {
      var name = nameOf(field);
      if (!Object.prototype.hasOwnProperty.call(fields, name)) return;
      if (valueOf(field) === fields[name]) return;
      if (ticked(field)) field.checked = fields[name] === "on";
      else field.value = fields[name];
      field.dispatchEvent(new Event("input", { bubbles: true }));
      field.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  function notice(form, key, draft, base, done) {
    var box = document.createElement("div");
    box.className = "notice draft-notice";
    box.setAttribute("role", "status");
    var text = document.createElement("p");
    var what = form.getAttribute("data-unsaved-guard") || t("this form");
    var said = t("Changes to %(what)s from %(when)s were not saved; they are kept in this browser.",
      { what: what, when: when(draft.saved) });
    if (draft.base && base && draft.base !== base) {
      said += " " + t("They were made on %(base)s; this page shows %(current)s.", { base: draft.base, current: base });
    }
    text.textContent = said;
    var buttons = document.createElement("p");
    buttons.className = "actions";
    buttons.append(
      button(t("Restore them"), "button button-primary", function () {
        restore(form, draft.fields);
      }),
      " ",
      button(t("Discard them"), "button", function () {
        forget(key);
      })
    );
    box.append(text, buttons);
    form.parentNode.insertBefore(box, form);

    function button(label, className, act) {
      var element = document.createElement("button");
      element.type = "button";
      element.className = className;
      element.textContent = label;
      element.addEventListener("click", function () {
        act();
        box.remove();
        done();
      });
      return element;
    }
  }

  function keep(form) {
    var key = form.getAttribute("data-draft");
    var base = form.getAttribute("data-draft-base") || "";
    var shown = valuesOf(form);
    var kept = read(key);
    var offered = false; // a kept draft is offered and neither restored nor discarded yet
    if (kept && same(kept.fields, shown)) {
      forget(key); // saved since, or never changed
    } else if (kept) {
      offered = true;
      notice(form, key, kept, base, function () {
        offered = false;
      });
    }
    var timer = null;
    function save() {
      timer = null;
      var now = valuesOf(form);
      if (!same(now, shown)) write(key, { saved: new Date().toISOString(), base: base, fields: now });
      else if (!offered) forget(key); // changed back to what was saved
    }
    function later() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(save, DELAY);
    }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    form.addEventListener("designer:change", later);
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented || !form.hasAttribute("data-draft-once")) return;
      if (timer) clearTimeout(timer);
      timer = null;
      forget(key);
    });
    window.addEventListener("pagehide", function () {
      if (timer) {
        clearTimeout(timer);
        save();
      }
    });
  }

  function clearAll() {
    var store = storage();
    if (!store) return;
    for (var index = store.length - 1; index >= 0; index -= 1) {
      var name = store.key(index);
      if (name && name.indexOf(PREFIX) === 0) store.removeItem(name);
    }
  }

  document.addEventListener("submit", function (event) {
    if (!event.defaultPrevented && event.target.hasAttribute("data-clears-drafts")) clearAll();
  });

  function init() {
    document.querySelectorAll("form[data-draft]").forEach(keep);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
