/* The bundled front end's texts in the interface's language: t(english, values) looks the
 * English up in the page's #ui-strings JSON ({english: translated}, written by
 * templates/_ui_strings.html from designer/js_strings.py), falls back to the English and
 * fills in its %(name)s placeholders from values. The JSON is read lazily, at the first
 * call that finds it. The same lookup as static/js/i18n.js, without depending on it. */

let table = null;

function strings() {
  if (table) return table;
  const element = document.getElementById("ui-strings");
  if (!element) return {};
  try {
    table = JSON.parse(element.textContent) || {};
  } catch (error) {
    table = {};
  }
  return table;
}

/** The translation of ``english`` (or the English), placeholders filled in from ``values``. */
export function t(english, values) {
  const known = strings();
  const text = Object.prototype.hasOwnProperty.call(known, english) && known[english] ? known[english] : english;
  if (!values) return text;
  return text.replace(/%\((\w+)\)s/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole
  );
}

/** The page's language (``<html lang>``): ``en``, ``nl`` or ``de``. */
export function pageLanguage() {
  return (document.documentElement.lang || "en").toLowerCase().split("-")[0];
}
