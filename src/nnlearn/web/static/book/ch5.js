// Book, chapter 5: ‖δˡ‖ per layer while [784, 30, 30, 30, 10] trains; a session of the
// playground's pool, driven by its stream and controls.
"use strict";

const COLORS = ["#f08a24", "#2f9e6a", "#2f7fc1", "#8a5cd6"];
const LOG_MIN = -6;   // the bars span ‖δ‖ from 10⁻⁶ to 1
const state = { snap: null, history: [], session: null, source: null };

function chosen(group) { return document.querySelector(`#${group} button.on`).dataset.v; }

async function start() {
  if (state.source) state.source.close();
  if (state.session) NN.api(`/api/playground/${state.session}/close`, {}).catch(() => {});
  state.snap = null; state.history = [];
  const body = { activation: chosen("activation"), init: chosen("init") };
  const snap = await BOOK.compute("ch5/session", body, document.getElementById("vanishing"));
  state.session = snap.session;
  render(snap);
  const source = new EventSource(`/api/playground/${snap.session}/stream`);
  state.source = source;
  source.onmessage = (event) => render(JSON.parse(event.data));
}

function render(snap) {
  if (state.snap && snap.generation !== state.snap.generation) state.history = [];
  state.history = state.history.slice(0, snap.history_start).concat(snap.history);
  state.snap = snap;
  document.querySelector("#vanishing pre.code").textContent = snap.code;
  const hidden = snap.norms.slice(0, -1);
  document.getElementById("bars").innerHTML = hidden.map((v, l) => {
    const height = Math.max(0, Math.min(1, (Math.log10(v) - LOG_MIN) / -LOG_MIN)) * 100;
    return `<div class="sm-bar"><div class="fill" style="height:${height.toFixed(1)}%; background:${COLORS[l]}"></div>` +
      `<span>layer ${l + 1}: <b class="norm">${v.toPrecision(4)}</b></span></div>`;
  }).join("");
  NN.lineChart(document.getElementById("normChart"), { xLabel: "epoch", series: hidden.map((_, l) => ({
    color: COLORS[l], points: state.history.map((r) => [r.epoch, Math.log10(r.norms[l])]) })) });
  document.getElementById("normLegend").innerHTML = hidden.map((_, l) =>
    `<span><i style="background:${COLORS[l]}"></i>hidden layer ${l + 1}</span>`).join("");
  const last = state.history[state.history.length - 1];
  document.getElementById("readout").innerHTML =
    `epoch <b id="epochShown">${snap.epoch}</b> of ${snap.max_epochs}` +
    (last && last.accuracy !== null ? `, training accuracy ${(100 * last.accuracy).toFixed(1)}%` : "") +
    `; last/first hidden layer: <b id="ratioShown">${(hidden[hidden.length - 1] / hidden[0]).toFixed(1)}</b>×` +
    (snap.error ? ` — <span style="color:var(--bad)">${NN.escape(snap.error)}</span>` : "");
  document.getElementById("play").textContent = snap.playing ? "Pause" : "Play";
}

async function control(action) {
  try {
    await NN.api(`/api/playground/${state.session}/control`, { action });
  } catch (err) { NN.banner(document.getElementById("banner"), err.message); }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const group of ["activation", "init"]) {
    for (const b of document.querySelectorAll(`#${group} button`)) b.addEventListener("click", () => {
      for (const o of document.querySelectorAll(`#${group} button`)) o.classList.toggle("on", o === b);
      start();
    });
  }
  document.getElementById("play").addEventListener("click", () => control(state.snap && state.snap.playing ? "pause" : "play"));
  document.getElementById("step").addEventListener("click", () => control("step"));
  document.getElementById("reset").addEventListener("click", () => control("reset"));
  window.addEventListener("pagehide", () => {
    if (state.session) navigator.sendBeacon(`/api/playground/${state.session}/close`,
                                            new Blob(["{}"], { type: "application/json" }));
  });
  start();
});
window.addEventListener("resize", () => { if (state.snap) render({ ...state.snap, history: [], history_start: state.history.length }); });
