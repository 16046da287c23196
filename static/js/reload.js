/* Pages that wait for work done in the background (a large campaign's report being
 * counted) reload themselves: an element with data-reload-after="N" reloads the page
 * after N seconds. Its "Stop reloading" button (data-reload-stop, hidden until this
 * script shows it) stops that for as long as the page is open, so nobody loses their
 * place while reading; the element's data-reload-stopped text then replaces the note.
 * Without scripts the page offers its own Reload link instead.
 */
(function () {
  "use strict";
  var holder = document.querySelector("[data-reload-after]");
  if (!holder) return;
  var seconds = Number(holder.getAttribute("data-reload-after")) || 10;
  var timer = window.setTimeout(function () {
    window.location.reload();
  }, seconds * 1000);
  var stop = holder.querySelector("[data-reload-stop]");
  if (!stop) return;
  stop.hidden = false;
  stop.addEventListener("click", function () {
    window.clearTimeout(timer);
    stop.hidden = true;
    var note = holder.querySelector("[data-reload-note]");
    if (note) note.textContent = holder.getAttribute("data-reload-stopped") || "";
  });
})();
