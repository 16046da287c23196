/* The page scripts' texts in the interface's language, loaded in <head> by
 * templates/_ui_strings.html before any other script runs.
 *
 * window.designerText(english, values) returns the translation of an English text
 * from the page's #ui-strings JSON ({english: translated}, designer/js_strings.py),
 * or the English when the page has none, with its %(name)s placeholders filled in
 * from values ({name: value}). The JSON is read at the first call that finds it, so
 * the order in which scripts load does not matter.
 */
(function () {
  "use strict";

  var table = null;

  function strings() {
    if (table) return table;
    var element = document.getElementById("ui-strings");
    if (!element) return {}; // not parsed yet (or no such page): English, look again later
    try {
      table = JSON.parse(element.textContent) || {};
    } catch (error) {
      table = {};
    }
    return table;
  }

  window.designerText = function (english, values) {
    var known = strings();
    var text = Object.prototype.hasOwnProperty.call(known, english) && known[english] ? known[english] : english;
    if (!values) return text;
    return text.replace(/%\((\w+)\)s/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  };
})();
