/* The staff side: installable, with a service worker that keeps only the static shell. */
(function () {
  "use strict";
  var sw = document.querySelector("link[rel=manifest]");
  if (sw && "serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register(sw.getAttribute("data-worker"), { scope: sw.getAttribute("data-scope") })
      .catch(function () { /* the staff side works without it */ });
  }
})();

/* Copy buttons: shown only where the browser can copy. */
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-copy]");
  if (!navigator.clipboard) return;
  Array.prototype.forEach.call(buttons, function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      navigator.clipboard.writeText(source.value).then(function () {
        button.textContent = button.getAttribute("data-copied");
      });
    });
  });
})();
