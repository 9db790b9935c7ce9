// Book, chapter 3: the learning slowdown (quadratic vs cross-entropy) and softmax.
"use strict";

const BOOK_ETA = { quadratic: 0.15, cross_entropy: 0.005 };
const state = { slowdown: null, previous: null, softmax: null, shown: 0, busy: false, ticket: 0 };

function on(group) { return document.querySelector(`#${group} button.on`); }

function select(group, button) {
  for (const b of document.querySelectorAll(`#${group} button`)) b.classList.toggle("on", b === button);
}

/** Draw the run up to epoch `upto` (the curve grows as if live), the previous run in grey. */
function drawSlowdown(upto) {
  const run = state.slowdown, prev = state.previous;
  const series = (key, r, color, n) => ({ color, points: r[key].slice(0, n + 1).map((v, i) => [i, v]) });
  for (const [key, canvas, yMin] of [["costs", "costChart", 0], ["outputs", "outputChart", 0]]) {
    const lines = [];
    if (prev) lines.push(series(key, prev, "#b0b8c6", prev[key].length));
    lines.push(series(key, run, "#2f7fc1", upto));
    NN.lineChart(document.getElementById(canvas), { series: lines, xLabel: "epoch", yMin,
      yMax: key === "outputs" ? 1 : undefined });
  }
  const n = Math.min(upto, run.costs.length - 1);
  document.getElementById("slowdownReadout").innerHTML =
    `${run.cost} cost, start (w, b) = (${run.w}, ${run.b}), η = ${run.eta}: ` +
    `epoch <b id="epochShown">${n}</b>, cost <b id="costShown">${run.costs[n].toFixed(6)}</b>, ` +
    `output a = <b id="outputShown">${run.outputs[n].toFixed(4)}</b>` +
    (run.diverged ? ` — <span style="color:var(--bad)">${NN.escape(run.diverged)}</span>` : "");
}

async function runSlowdown() {
  const start = on("start");
  const body = { cost: on("cost").dataset.cost, w: Number(start.dataset.w), b: Number(start.dataset.b),
                 eta: Number(document.getElementById("eta").value),
                 epochs: Number(document.getElementById("epochs").value) };
  const ticket = ++state.ticket;   // only the newest request's answer is shown
  state.busy = true;
  let answer;
  try {
    answer = await BOOK.compute("ch3/slowdown", body, document.getElementById("slowdown"));
  } catch (err) {
    if (ticket === state.ticket) state.busy = false;
    return;
  }
  if (ticket !== state.ticket) return;
  if (state.slowdown) state.previous = state.slowdown;
  state.slowdown = answer;
  // replay the epochs over about a second and a half, so the curve is seen to grow
  const total = answer.costs.length - 1, began = performance.now();
  const frame = (now) => {
    if (ticket !== state.ticket) return;   // a newer run took over
    // (a frame's timestamp can precede `began`, taken just before the first request)
    const upto = Math.max(0, Math.min(total, Math.round((now - began) / 1500 * total)));
    state.shown = upto;
    drawSlowdown(upto);
    if (upto < total) requestAnimationFrame(frame);
    else state.busy = false;
  };
  requestAnimationFrame(frame);
}

async function runSoftmax() {
  const z = [...document.querySelectorAll("#softmax input.z")].map((el) => Number(el.value));
  const answer = await BOOK.compute("ch3/softmax", { z }, document.getElementById("softmax"));
  state.softmax = answer;
  const bars = document.getElementById("softmaxBars");
  bars.innerHTML = answer.a.map((a, j) =>
    `<div class="sm-bar"><div class="fill" style="height:${(a * 100).toFixed(2)}%"></div>` +
    `<span>a${j + 1} = <b class="a">${a.toFixed(4)}</b></span></div>`).join("");
  document.getElementById("softmaxReadout").textContent =
    `Σⱼ aⱼ = ${answer.sum.toFixed(6)}`;
}

// -- overfitting: a Book training session -------------------------------------------------------
const overfit = BOOK.session("ch3", document.getElementById("overfit"), drawOverfit);
let previousOverfit = [];

function drawOverfit(snap, history) {
  const line = (rows, key, color) => ({ color, points: rows.filter((r) => r[key] !== null).map((r) => [r.epoch, r[key]]) });
  NN.lineChart(document.getElementById("overfitCost"), { xLabel: "epoch", yMin: 0, series: [
    line(previousOverfit, "training_cost", "#b0b8c6"), line(history, "training_cost", "#2f7fc1")] });
  NN.lineChart(document.getElementById("overfitAccuracy"), { xLabel: "epoch", series: [
    line(previousOverfit, "evaluation_accuracy", "#b0b8c6"), line(history, "evaluation_accuracy", "#2f9e6a")] });
  const last = history[history.length - 1];
  const best = Math.max(...history.map((r) => r.evaluation_accuracy));
  document.getElementById("overfitReadout").innerHTML =
    `λ = ${snap.lmbda}, dropout ${snap.dropout}: epoch <b id="overfitEpoch">${snap.epoch}</b> of ${snap.max_epochs}` +
    (last.training_cost === null ? "" : `, training cost <b id="overfitCostShown">${last.training_cost.toFixed(4)}</b>`) +
    `, validation accuracy <b id="overfitAccuracyShown">${(100 * last.evaluation_accuracy).toFixed(2)}</b>% (best ${(100 * best).toFixed(2)}%)` +
    (snap.error ? ` — <span style="color:var(--bad)">${NN.escape(snap.error)}</span>` : "");
}

function startOverfit() {
  if (overfit.history.length > 1) previousOverfit = overfit.history;
  const chosen = (group) => Number(document.querySelector(`#${group} button.on`).dataset.v);
  return overfit.start({ lmbda: chosen("lmbda"), dropout: chosen("dropout") });
}

document.addEventListener("DOMContentLoaded", () => {
  BOOK.choice("lmbda", startOverfit);
  BOOK.choice("dropout", startOverfit);
  startOverfit();
  for (const b of document.querySelectorAll("#cost button")) b.addEventListener("click", () => {
    select("cost", b);
    document.getElementById("eta").value = BOOK_ETA[b.dataset.cost];
    runSlowdown();
  });
  for (const b of document.querySelectorAll("#start button")) b.addEventListener("click", () => {
    select("start", b); runSlowdown();
  });
  document.getElementById("run").addEventListener("click", runSlowdown);
  const softmax = BOOK.throttle(runSoftmax, 80);
  for (const input of document.querySelectorAll("#softmax input.z")) {
    BOOK.showValue(input, (v) => v.toFixed(1));
    input.addEventListener("input", () => { BOOK.showValue(input, (v) => v.toFixed(1)); softmax(); });
  }
  runSlowdown();
  runSoftmax();
});
window.addEventListener("resize", () => {
  if (state.slowdown) drawSlowdown(state.shown);
  if (overfit.snap) drawOverfit(overfit.snap, overfit.history);
});
