// The workflow editor: show only the inputs the chosen trigger, recipients, sender and
// repeat rule use. Everything works without this script (all inputs shown).
(function () {
  "use strict";
  function update(form) {
    form.querySelectorAll("[data-show-when]").forEach(function (el) {
      var parts = el.getAttribute("data-show-when").split("=");
      var scope = el.closest("[data-scope]") || form;
      var control = scope.querySelector('[name$="' + parts[0] + '"]');
      if (control) el.hidden = parts[1].split("|").indexOf(control.value) < 0;
    });
  }
  document.querySelectorAll("form.workflow-form").forEach(function (form) {
    form.addEventListener("change", function () { update(form); });
    update(form);
  });
})();
