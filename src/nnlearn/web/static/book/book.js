// The Book pages: helpers shared by the chapters (loaded before common.js; uses NN only when called).
"use strict";

const BOOK = {};

/** POST a demo's settings to /api/book/<name>; show the code it returns in the demo's <pre>. */
BOOK.compute = async function (name, body, demo) {
  const banner = document.getElementById("banner");
  try {
    const answer = await NN.api(`/api/book/${name}`, body);
    NN.banner(banner, "");
    const pre = demo && demo.querySelector("pre.code");
    if (pre) pre.textContent = answer.code;
    return answer;
  } catch (err) {
    NN.banner(banner, err.message);
    throw err;
  }
};

/** Call fn at most once per `ms` while events keep coming, and once after the last one. */
BOOK.throttle = function (fn, ms) {
  let timer = null, again = false, running = false;
  const run = async () => {
    running = true; again = false;
    try { await fn(); } catch (e) { /* shown in the banner */ }
    running = false;
    if (again) timer = setTimeout(run, ms);
    else timer = null;
  };
  return () => { if (timer || running) { again = true; return; } timer = setTimeout(run, 0); };
};

/** Show an <input type=range>'s value in the <output> that follows it. */
BOOK.showValue = function (input, format) {
  const out = input.parentElement.querySelector("output");
  if (out) out.textContent = format ? format(Number(input.value)) : input.value;
};

/** Mark the Book tab and this chapter's link. */
document.addEventListener("DOMContentLoaded", () => {
  for (const a of document.querySelectorAll('.tabs a[href="/book"]')) a.classList.add("active");
  for (const a of document.querySelectorAll(".book-head .chapters a")) {
    if (a.getAttribute("href") === location.pathname) a.classList.add("here");
  }
});

/**
 * A Book training (chapters 5, 6): a session of the playground's pool, created by
 * POST /api/book/<chapter>/session and driven by the playground's stream and controls
 * (#play, #step, #reset on the page). `render(snap, history)` draws each snapshot; the
 * returned object holds the latest `snap` and every epoch's record in `history`.
 */
BOOK.session = function (chapter, demo, render) {
  const s = { id: null, source: null, snap: null, history: [] };
  s.receive = (snap) => {
    if (s.snap && snap.generation !== s.snap.generation) s.history = [];
    s.history = s.history.slice(0, snap.history_start).concat(snap.history);
    s.snap = snap;
    demo.querySelector("pre.code").textContent = snap.code;
    document.getElementById("play").textContent = snap.playing ? "Pause" : "Play";
    render(snap, s.history);
  };
  const close = (id) => NN.api(`/api/playground/${id}/close`, {}).catch(() => {});
  let ticket = 0;
  s.start = async (body) => {
    const mine = ++ticket;
    if (s.source) s.source.close();
    if (s.id) close(s.id);
    s.id = null; s.snap = null; s.history = [];
    const snap = await BOOK.compute(`${chapter}/session`, body, demo);
    if (mine !== ticket) { close(snap.session); return; }   // a newer choice came meanwhile
    s.id = snap.session;
    s.receive(snap);
    s.source = new EventSource(`/api/playground/${snap.session}/stream`);
    s.source.onmessage = (event) => s.receive(JSON.parse(event.data));
  };
  s.control = async (action) => {
    try { await NN.api(`/api/playground/${s.id}/control`, { action }); }
    catch (err) { NN.banner(document.getElementById("banner"), err.message); }
  };
  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("play").addEventListener("click", () => s.control(s.snap && s.snap.playing ? "pause" : "play"));
    document.getElementById("step").addEventListener("click", () => s.control("step"));
    document.getElementById("reset").addEventListener("click", () => s.control("reset"));
  });
  window.addEventListener("pagehide", () => {
    // keepalive: the request outlives the page; JSON, as the server requires of every write
    if (s.id) fetch(`/api/playground/${s.id}/close`, { method: "POST", keepalive: true,
      headers: { "Content-Type": "application/json" }, body: "{}" });
  });
  return s;
};

/** Make the buttons of a .segmented group exclusive; `then(value)` after each choice. */
BOOK.choice = function (group, then) {
  const buttons = document.querySelectorAll(`#${group} button`);
  for (const b of buttons) b.addEventListener("click", () => {
    for (const o of buttons) o.classList.toggle("on", o === b);
    then(b.dataset.v);
  });
};
