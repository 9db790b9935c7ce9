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
