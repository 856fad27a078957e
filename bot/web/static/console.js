/* The console's only script: follows a publication's progress (the page works without it). */
(function () {
  "use strict";
  var box = document.getElementById("publication");
  if (!box) { return; }
  var bar = document.getElementById("progress"), text = document.getElementById("progress-text");
  var label = box.querySelector("label[for=progress]");
  function poll() {
    fetch(box.getAttribute("data-state-url"), { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    }).then(function (s) {
      if (s.status !== "running") { location.reload(); return; }
      bar.value = s.progress || 0;
      bar.textContent = (s.progress || 0) + " %";
      label.textContent = s.message || "";
      text.textContent = (s.message || "") + " — " + (s.progress || 0) + " %";
      setTimeout(poll, 1500);
    }).catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
