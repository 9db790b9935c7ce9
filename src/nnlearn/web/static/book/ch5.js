// Book, chapter 5: ‖δˡ‖ per layer while [784, 30, 30, 30, 10] trains (a Book training session).
"use strict";

const COLORS = ["#f08a24", "#2f9e6a", "#2f7fc1", "#8a5cd6"];
const LOG_MIN = -6;   // the bars span ‖δ‖ from 10⁻⁶ to 1
const state = BOOK.session("ch5", document.getElementById("vanishing"), render);

function chosen(group) { return document.querySelector(`#${group} button.on`).dataset.v; }

function start() { return state.start({ activation: chosen("activation"), init: chosen("init") }); }

function render(snap, history) {
  const hidden = snap.norms.slice(0, -1);
  document.getElementById("bars").innerHTML = hidden.map((v, l) => {
    const height = Math.max(0, Math.min(1, (Math.log10(v) - LOG_MIN) / -LOG_MIN)) * 100;
    return `<div class="sm-bar"><div class="fill" style="height:${height.toFixed(1)}%; background:${COLORS[l]}"></div>` +
      `<span>layer ${l + 1}: <b class="norm">${v.toPrecision(4)}</b></span></div>`;
  }).join("");
  NN.lineChart(document.getElementById("normChart"), { xLabel: "epoch", series: hidden.map((_, l) => ({
    color: COLORS[l], points: history.map((r) => [r.epoch, Math.log10(r.norms[l])]) })) });
  document.getElementById("normLegend").innerHTML = hidden.map((_, l) =>
    `<span><i style="background:${COLORS[l]}"></i>hidden layer ${l + 1}</span>`).join("");
  const last = history[history.length - 1];
  document.getElementById("readout").innerHTML =
    `epoch <b id="epochShown">${snap.epoch}</b> of ${snap.max_epochs}` +
    (last && last.accuracy !== null ? `, training accuracy ${(100 * last.accuracy).toFixed(1)}%` : "") +
    `; last/first hidden layer: <b id="ratioShown">${(hidden[hidden.length - 1] / hidden[0]).toFixed(1)}</b>×` +
    (snap.error ? ` — <span style="color:var(--bad)">${NN.escape(snap.error)}</span>` : "");
}

document.addEventListener("DOMContentLoaded", () => {
  BOOK.choice("activation", start);
  BOOK.choice("init", start);
  start();
});
window.addEventListener("resize", () => { if (state.snap) render(state.snap, state.history); });
