// Boxes that scroll sideways when the screen is narrow (wide tables, code samples) can be
// scrolled from the keyboard: while one scrolls and holds nothing focusable, it takes
// focus itself, as a region named after its table or section; wide again, it stops.
(function () {
  "use strict";

  /* A text in the page's language (window.designerText, static/js/i18n.js), else the English. */
  function t(english, values) {
    if (window.designerText) return window.designerText(english, values);
    return english.replace(/%\((\w+)\)s/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }
  const BOXES = ".table-wrap, .scroll-x, pre";
  const FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";

  function nameOf(box) {
    const caption = box.querySelector("caption");
    const section = box.closest("section, .card");
    const heading = section && section.querySelector("h2, h3");
    const source = caption || heading;
    const name = source ? source.textContent.trim().replace(/\s+/g, " ") : "";
    return (name ? name + " " : "") + t("(scrolls sideways)");
  }

  function take(box) {
    box.dataset.scrollFocus = box.hasAttribute("role") ? "focus" : "region";
    box.tabIndex = 0;
    if (box.dataset.scrollFocus === "region") {
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", nameOf(box));
    }
  }

  function release(box) {
    if (box.dataset.scrollFocus === "region") {
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
    }
    box.removeAttribute("tabindex");
    delete box.dataset.scrollFocus;
  }

  function update() {
    document.querySelectorAll(BOXES).forEach((box) => {
      const ours = box.dataset.scrollFocus !== undefined;
      if (!ours && box.hasAttribute("tabindex")) return; // focusable by its own markup
      const needed =
        box.scrollWidth > box.clientWidth && (ours || !box.querySelector(FOCUSABLE));
      if (needed && !ours) take(box);
      else if (!needed && ours) release(box);
    });
  }

  update();
  window.addEventListener("resize", update);
})();
