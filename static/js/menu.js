// The top bar's menus: the "Menu" button opens the navigation on narrow screens, the
// user's name opens their own pages. Both are buttons with aria-expanded; Escape closes.
(function () {
  "use strict";
  const bar = document.querySelector(".topbar");
  const menuButton = bar && bar.querySelector(".menu-toggle");
  const userButton = bar && bar.querySelector(".user-toggle");
  if (!menuButton || !userButton) return;

  function set(button, open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }
  function toggle(button) {
    set(button, button.getAttribute("aria-expanded") !== "true");
  }

  bar.classList.add("has-menus");
  menuButton.hidden = false;
  userButton.hidden = false;
  menuButton.addEventListener("click", () => toggle(menuButton));
  userButton.addEventListener("click", () => toggle(userButton));

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    [userButton, menuButton].forEach((button) => {
      if (button.getAttribute("aria-expanded") === "true") {
        set(button, false);
        button.focus();
      }
    });
  });
  document.addEventListener("click", (event) => {
    if (!userButton.parentElement.contains(event.target)) set(userButton, false);
  });
})();
