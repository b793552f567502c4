/* The staff side: installable, with a service worker that keeps only the static shell. */
(function () {
  "use strict";
  var sw = document.querySelector("link[rel=manifest]");
  if (sw && "serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register(sw.getAttribute("data-worker"), { scope: sw.getAttribute("data-scope") })
      .catch(function () { /* the staff side works without it */ });
  }
})();
