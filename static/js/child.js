/* The child's page, made easier with JavaScript: one question at a time, a check before sending,
   read-aloud, a quick exit, and sending that survives a dropped connection. Without JavaScript the
   page works as a plain form. Nothing is ever stored on the device. */
(function () {
  "use strict";
  var doc = document, body = doc.body, root = doc.documentElement;
  root.className += " js";

  /* --- Quick exit: blank the page at once and replace it in history. --- */
  function leave() {
    body.textContent = "";
    doc.title = "";
    window.location.replace(body.getAttribute("data-exit"));
  }
  var exit = doc.querySelector(".exit");
  if (exit) exit.addEventListener("click", function (e) { e.preventDefault(); leave(); });
  var shifts = [];
  doc.addEventListener("keydown", function (e) {
    if (e.key !== "Shift" || e.repeat) return;
    var now = Date.now();
    shifts = shifts.filter(function (t) { return now - t < 1500; });
    shifts.push(now);
    if (shifts.length >= 3) leave();
  });
  /* A page brought back from the back/forward cache never shows the questions again. */
  window.addEventListener("pageshow", function (e) {
    if (e.persisted) { body.textContent = ""; window.location.replace(body.getAttribute("data-neutral")); }
  });

  /* --- Read-aloud: recordings where every text of a button has one (loaded only on tap), else the
     device's own voice where it has one for this language; otherwise no button. --- */
  var lang = (root.lang || "").toLowerCase(), synth = window.speechSynthesis, playing = null;
  function voiceFor() {
    if (!synth) return null;
    var voices = synth.getVoices(), base = lang.split("-")[0];
    for (var i = 0; i < voices.length; i++) {
      var v = (voices[i].lang || "").toLowerCase().replace("_", "-");
      if (v === lang || v.split("-")[0] === base) return voices[i];
    }
    return null;
  }
  function named(button) {
    return button.getAttribute("data-speak").split(" ").map(function (id) { return doc.getElementById(id); });
  }
  /* The recordings' addresses in reading order, or null unless every named text has one. */
  function recordings(button) {
    var urls = [], all = true;
    named(button).forEach(function (el) {
      var found = !el ? [] : el.hasAttribute("data-audio") ? [el] : el.querySelectorAll("[data-audio]");
      if (!found.length) all = false;
      Array.prototype.forEach.call(found, function (f) { urls.push(f.getAttribute("data-audio")); });
    });
    return all && urls.length ? urls : null;
  }
  function setUpSpeech() {
    var voice = voiceFor(), any = false;
    var buttons = doc.querySelectorAll("button.speak");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = !voice && !recordings(buttons[i]);
      if (!buttons[i].hidden) any = true;
    }
    var hint = doc.querySelector(".speak-hint");
    if (hint) hint.hidden = !any;
  }
  function stopAll() {
    if (playing) { playing.pause(); playing = null; }
    if (synth) synth.cancel();
  }
  function play(urls, i) {
    if (i >= urls.length) { playing = null; return; }
    var audio = new Audio(urls[i]);
    playing = audio;
    audio.addEventListener("ended", function () { if (playing === audio) play(urls, i + 1); });
    var started = audio.play();
    if (started && started.catch) started.catch(function () { if (playing === audio) playing = null; });
  }
  setUpSpeech();
  if (synth) synth.addEventListener("voiceschanged", setUpSpeech);
  doc.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("button.speak") : null;
    if (!button) return;
    e.preventDefault();
    stopAll();
    var urls = recordings(button);
    if (urls) { play(urls, 0); return; }
    var voice = voiceFor();
    if (!voice) return;
    var text = named(button).map(function (el) { return el ? el.textContent : ""; }).join(". ");
    var say = new SpeechSynthesisUtterance(text);
    say.lang = lang;
    say.voice = voice;
    synth.speak(say);
  });

  var form = doc.getElementById("answers");
  if (!form) return;

  /* --- The token leaves the address bar once the child starts. --- */
  var started = false;
  form.addEventListener("change", function () {
    if (!started && window.history.replaceState) {
      started = true;
      window.history.replaceState(null, "", body.getAttribute("data-neutral"));
    }
  });

  /* --- Two-step scale: "how much" appears after "good or not good". --- */
  var pairs = form.querySelectorAll("[data-two-step]");
  function syncTwoStep(box) {
    var chosen = box.querySelector("input[name^='good-']:checked");
    var amount = box.querySelector("[data-amount]");
    amount.hidden = !chosen;
    amount.previousElementSibling.hidden = !chosen;
  }
  Array.prototype.forEach.call(pairs, function (box) {
    syncTwoStep(box);
    box.addEventListener("change", function (e) {
      if (e.target.name.indexOf("good-") === 0) syncTwoStep(box);
    });
  });

  /* --- One question at a time, then "check your answers". --- */
  var steps = Array.prototype.slice.call(form.querySelectorAll("[data-step]"));
  var check = doc.getElementById("check"), summary = check.querySelector(".summary");
  var back = form.querySelector(".back"), next = form.querySelector(".next");
  var review = form.querySelector(".review"), send = form.querySelector(".send");
  var status = form.querySelector(".status");
  var questions = steps.filter(function (s) { return s.tagName === "FIELDSET"; });
  var current = 0, last = steps.length; /* index === steps.length is the check step */

  questions.forEach(function (q, i) {
    var progress = q.querySelector(".progress");
    progress.textContent = form.getAttribute("data-progress")
      .replace("{n}", i + 1).replace("{t}", questions.length);
  });

  function answered(step) {
    if (step.tagName !== "FIELDSET") return true;
    var name = step.querySelector(".not-answered input").name;
    if (form.querySelector("input[name='" + name + "']:checked")) return true;
    var pair = step.querySelector("[data-two-step]");
    return !!(pair && pair.querySelector("input[name^='good-']:checked") &&
              pair.querySelector("input[name^='amount-']:checked"));
  }

  function labelOf(step) {
    var checked = step.querySelectorAll(".ladder input:checked, .not-answered input:checked, " +
                                        "[data-two-step] input:checked");
    return Array.prototype.map.call(checked, function (input) {
      return input.parentNode.textContent.replace(/\s+/g, " ").trim();
    }).join(" · ");
  }

  function buildSummary() {
    summary.textContent = "";
    var change = doc.getElementById("change-label").innerHTML;
    questions.forEach(function (q) {
      var li = doc.createElement("li");
      var words = q.querySelector(".words").cloneNode(true);
      var chosen = doc.createElement("strong");
      chosen.textContent = " " + labelOf(q) + " ";
      var button = doc.createElement("button");
      button.type = "button";
      button.className = "secondary small";
      button.textContent = change;
      button.addEventListener("click", function () { show(steps.indexOf(q)); });
      li.appendChild(words); li.appendChild(chosen); li.appendChild(button);
      summary.appendChild(li);
    });
  }

  function show(index, quiet) {
    current = index;
    steps.forEach(function (s, i) { s.hidden = i !== index; });
    check.hidden = index !== last;
    back.hidden = index === 0;
    next.hidden = index >= last;
    review.hidden = true;
    send.hidden = index !== last;
    status.textContent = "";
    if (quiet) return;
    if (index === last) { buildSummary(); check.focus(); }
    else {
      var target = steps[index].querySelector("legend, label") || steps[index];
      steps[index].scrollIntoView({ block: "start" });
      if (target.focus) { target.setAttribute("tabindex", "-1"); target.focus({ preventScroll: true }); }
    }
  }

  back.addEventListener("click", function () { if (current > 0) show(current - 1); });
  next.addEventListener("click", function () {
    if (!answered(steps[current])) { status.textContent = form.getAttribute("data-need-answer"); return; }
    show(current + 1);
  });

  /* --- Sending: in memory only; retried by itself when the connection comes back. --- */
  var pending = null, timer = null;
  function attempt() {
    if (!pending) return;
    status.textContent = form.getAttribute("data-sending");
    fetch(form.action, { method: "POST", body: pending, headers: { "Accept": "application/json" },
                         credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" })
      .then(function (response) {
        return response.json().then(function (data) { return { code: response.status, data: data }; });
      })
      .then(function (result) {
        var data = result.data;
        if (data.status === "sent" || data.status === "already_sent") {
          pending = null;
          window.location.replace(data.next);
        } else if (data.status === "retry") {
          waitAndRetry();
        } else if (data.status === "invalid") {
          pending = null;
          status.textContent = data.errors.join(" ");
          send.disabled = false;
        } else if (data.status === "gone") {
          pending = null;
          window.location.replace(body.getAttribute("data-neutral"));
        } else {
          pending = null;
          status.textContent = form.getAttribute("data-failed");
          send.disabled = false;
        }
      })
      .catch(waitAndRetry);
  }
  function waitAndRetry() {
    status.textContent = form.getAttribute("data-offline");
    clearTimeout(timer);
    timer = setTimeout(attempt, 5000);
  }
  window.addEventListener("online", function () { clearTimeout(timer); attempt(); });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (current !== last || pending) return;
    var data = new FormData(form);
    data.set("intent", "send");
    pending = data;
    send.disabled = true;
    attempt();
  });

  show(0, true);
})();
