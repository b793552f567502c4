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

/* A form that sends something once (the handover): a second press while it is on its way does nothing.
   The server refuses a second send of the same version anyway. */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("form[data-send-once]"), function (form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sending")) { event.preventDefault(); return; }
      form.setAttribute("data-sending", "1");
      Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (button) {
        button.setAttribute("aria-disabled", "true");
      });
    });
  });
})();

/* Forms sent once (handing the assignment over): a second click while the first is on its way does
   nothing. The server refuses a second hand-over anyway; this spares the person a confusing answer. */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("form[data-once]"), function (form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sent")) {
        event.preventDefault();
        return;
      }
      form.setAttribute("data-sent", "1");
    });
  });
})();
