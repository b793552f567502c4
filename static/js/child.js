/* The child's page, made easier with JavaScript: one question at a time, a check before sending,
   read-aloud, a quick exit, and sending that survives a dropped connection. Without JavaScript the
   page works as a plain form. Nothing is ever stored on the device: the answers live only in the page,
   so the page asks before anything but the quick exit, a change of view or language (which carry the
   answers in the request) or sending would leave it with answers unsent. */
(function () {
  "use strict";
  var doc = document, body = doc.body, root = doc.documentElement;
  root.className += " js";
  var unsent = false, leaving = false;

  /* --- Quick exit: blank the page at once and replace it in history. --- */
  function leave() {
    leaving = true;
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
    if (e.persisted) {
      leaving = true;
      body.textContent = "";
      window.location.replace(body.getAttribute("data-neutral"));
    }
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
    root.classList.toggle("speaks", any);
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

  /* --- The token leaves the address bar once the child starts (at once on a page that came back
     from a change of view or language, with the answers in it). --- */
  var started = false;
  function start() {
    if (!started && window.history.replaceState) {
      started = true;
      window.history.replaceState(null, "", body.getAttribute("data-neutral"));
    }
  }
  function anything() {
    var text = doc.getElementById("added_text");
    return !!(form.querySelector("input[type=radio]:checked") || (text && text.value.trim()));
  }
  form.addEventListener("change", function () { start(); unsent = true; });
  form.addEventListener("input", function () { unsent = true; });
  if (form.hasAttribute("data-unsent")) { start(); unsent = anything(); }

  /* --- A reload (a pull-to-refresh) or closing the page would lose the answers: ask first. --- */
  window.addEventListener("beforeunload", function (e) {
    if (!unsent || leaving) return;
    e.preventDefault();
    e.returnValue = "";
    return "";
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
      if (e.target.name.indexOf("good-") !== 0) return;
      syncTwoStep(box);
      /* The second step has just appeared: bring it into sight, above "Next". */
      var amount = box.querySelector("[data-amount]");
      if (amount.scrollIntoView) amount.scrollIntoView({ block: "nearest" });
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

  /* Each answer in the words of the view it was given in, as the server's check page says it. */
  var view = form.querySelector("input[name=view]").value;
  function text(el) { return el.textContent.replace(/\s+/g, " ").trim(); }
  function labelOf(step) {
    var not = step.querySelector(".not-answered input:checked");
    if (not) return text(not.parentNode);
    var pair = step.querySelector("[data-two-step]");
    if (pair) {
      return Array.prototype.map.call(pair.querySelectorAll("input:checked"), function (input) {
        return text(input.parentNode);
      }).join(" · ");
    }
    var input = step.querySelector(".ladder input:checked");
    if (!input) return "";
    var words = input.parentNode.querySelector(".words-label");
    if (view === "ten" || !words) return form.getAttribute("data-of-ten").replace("{n}", input.value);
    return text(words);
  }
  /* The face the child chose (and in two steps its amount), for the check. */
  function faceOf(step) {
    var box = doc.createElement("span");
    box.className = "answer-face";
    Array.prototype.forEach.call(step.querySelectorAll(".ladder input:checked, [data-two-step] input:checked"),
      function (input) {
        var face = input.parentNode.querySelector("svg.face, .dots");
        if (face) box.appendChild(face.cloneNode(true));
      });
    return box;
  }
  function enoughOf(step) {
    var input = step.querySelector(".enough input:checked");
    if (!input) return "";
    var words = input.parentNode.querySelector(".enough-words");
    return form.getAttribute("data-enough").replace("{n}", words ? text(words) : input.value);
  }

  function changeButton(target) {
    var button = doc.createElement("button");
    button.type = "button";
    button.className = "secondary small";
    button.textContent = doc.getElementById("change-label").innerHTML;
    button.addEventListener("click", function () { show(steps.indexOf(target)); });
    return button;
  }

  function buildSummary() {
    summary.textContent = "";
    questions.forEach(function (q) {
      var li = doc.createElement("li");
      var words = q.querySelector(".words").cloneNode(true);
      /* A copy, not the question: no id twice on the page. */
      words.removeAttribute("id");
      Array.prototype.forEach.call(words.querySelectorAll("[id]"), function (el) { el.removeAttribute("id"); });
      var answer = doc.createElement("span");
      answer.className = "answer";
      var chosen = doc.createElement("strong");
      chosen.textContent = labelOf(q);
      answer.appendChild(faceOf(q)); answer.appendChild(chosen);
      li.appendChild(words); li.appendChild(answer);
      var enough = enoughOf(q);
      if (enough) {
        var more = doc.createElement("span");
        more.className = "enough-answer";
        more.textContent = enough;
        li.appendChild(more);
      }
      li.appendChild(changeButton(q));
      summary.appendChild(li);
    });
    /* What the child typed, as the check page without JavaScript shows it. */
    var typed = doc.getElementById("added_text"), added = check.querySelector(".added");
    added.textContent = "";
    added.hidden = !typed.value.trim();
    if (!added.hidden) {
      var said = doc.createElement("bdi");
      said.textContent = typed.value.trim();
      added.appendChild(doc.createTextNode(form.getAttribute("data-added") + " "));
      added.appendChild(said);
      added.appendChild(changeButton(doc.getElementById("more")));
    }
  }

  /* Each step has a title of its own (a screen reader says it), never naming what the questions are about. */
  function titleOf(index) {
    var step = steps[index];
    var name = index === last ? text(check.querySelector("h2"))
      : step.tagName === "FIELDSET" ? text(step.querySelector(".progress")) : text(step.querySelector("label"));
    return form.getAttribute("data-title").replace("{s}", name);
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
    doc.title = titleOf(index);
    if (quiet) return;
    if (index === last) { buildSummary(); check.focus(); }
    else {
      /* A question asked again after a change of view: its reason first, then the question. */
      var target = steps[index].querySelector(".again") || steps[index].querySelector("legend, label") || steps[index];
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
          leaving = true;
          window.location.replace(data.next);
        } else if (data.status === "retry") {
          waitAndRetry();
        } else if (data.status === "invalid") {
          pending = null;
          status.textContent = data.errors.join(" ");
          send.disabled = false;
        } else if (data.status === "gone") {
          pending = null;
          leaving = true;
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

  /* A change of view or language posts the form, answers and all, and the page comes back with them
     at the same step; without a connection it would lose them, so it waits. */
  var lastSubmitter = null;
  doc.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("button[type=submit]") : null;
    if (button) lastSubmitter = button;
  }, true);
  form.addEventListener("submit", function (e) {
    var by = e.submitter || lastSubmitter;
    lastSubmitter = null;
    if (by && (by.name === "switch_view" || by.name === "switch_lang")) {
      if (navigator.onLine === false) {
        e.preventDefault();
        status.textContent = form.getAttribute("data-offline-switch");
        return;
      }
      form.querySelector("input[name=step]").value = current;
      leaving = true;
      return;
    }
    e.preventDefault();
    if (current !== last || pending) return;
    var data = new FormData(form);
    data.set("intent", "send");
    pending = data;
    send.disabled = true;
    attempt();
  });

  /* The notice of questions asked again links to them: show that step. */
  var notice = doc.getElementById("ask-again");
  if (notice) notice.addEventListener("click", function (e) {
    var link = e.target.closest ? e.target.closest("a[href^='#']") : null;
    var target = link && doc.getElementById(link.getAttribute("href").slice(1));
    if (target && steps.indexOf(target) >= 0) { e.preventDefault(); show(steps.indexOf(target)); }
  });

  /* Where the page opens: the step the child was on before a change of view or language, or the first
     question asked again. */
  var opening = parseInt(form.getAttribute("data-start"), 10) || 0;
  if (opening < 0 || opening > last) opening = 0;
  show(opening, opening === 0 && !steps[0].hasAttribute("data-ask-again"));
})();
