/* Recording a problem read aloud, on the case page, with the browser's MediaRecorder. Without
   JavaScript or without MediaRecorder the same form uploads an audio file. The recording is sent as
   a normal multipart form, with the form's own CSRF token; nothing is kept in the browser. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-recorder]");
  var media = navigator.mediaDevices;
  if (!form || !window.MediaRecorder || !media || !media.getUserMedia || !window.fetch || !window.FormData) return;

  var box = form.querySelector(".recorder"), status = form.querySelector(".recorder-status");
  var record = form.querySelector("[data-record]"), stop = form.querySelector("[data-stop]");
  var preview = form.querySelector("[data-preview]"), file = form.querySelector("input[type=file]");
  var recorder = null, stream = null, chunks = [], blob = null, url = null;
  var limit = parseInt(form.getAttribute("data-max-bytes"), 10);
  box.hidden = false;

  function tell(name) { status.textContent = form.getAttribute("data-" + name); }
  function forget() {
    blob = null;
    if (url) { URL.revokeObjectURL(url); url = null; }
    preview.removeAttribute("src");
    preview.hidden = true;
  }
  function release() {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
  }

  record.addEventListener("click", function () {
    forget();
    file.value = "";
    media.getUserMedia({ audio: true }).then(function (s) {
      stream = s;
      chunks = [];
      recorder = new MediaRecorder(s);
      recorder.addEventListener("dataavailable", function (e) { if (e.data && e.data.size) chunks.push(e.data); });
      recorder.addEventListener("stop", function () {
        release();
        blob = new Blob(chunks, { type: recorder.mimeType || (chunks[0] && chunks[0].type) || "audio/webm" });
        chunks = [];
        url = URL.createObjectURL(blob);
        preview.src = url;
        preview.hidden = false;
        record.hidden = false;
        stop.hidden = true;
        record.focus();
        tell(blob.size > limit ? "too-big" : "recorded");
      });
      recorder.start();
      record.hidden = true;
      stop.hidden = false;
      stop.focus();
      tell("recording");
    }).catch(function () { release(); tell("no-microphone"); });
  });

  stop.addEventListener("click", function () {
    if (recorder && recorder.state !== "inactive") recorder.stop();
  });

  /* A file chosen after a recording is what gets sent. */
  file.addEventListener("change", function () { if (file.files.length) forget(); });

  form.addEventListener("submit", function (e) {
    if (!blob) return; /* a chosen file goes as the plain form it is */
    e.preventDefault();
    if (blob.size > limit) { tell("too-big"); return; }
    var data = new FormData(form);
    var type = blob.type.split(";")[0];
    var ending = { "audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "m4a" }[type] || "audio";
    data.set("audio", blob, "recording." + ending);
    tell("sending");
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin",
                         headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (result) {
        if (result.status !== "saved") {
          status.textContent = result.message || form.getAttribute("data-failed");
          return;
        }
        forget();
        var next = new URL(result.next, window.location.href), here = window.location;
        if (next.pathname !== here.pathname || next.search !== here.search) { here.assign(next.href); return; }
        here.hash = next.hash; /* the same page: load it again to show the new recording */
        here.reload();
      })
      .catch(function () { tell("failed"); });
  });
})();
