// Book, chapter 4: a step and a bump by hand; n bumps with draggable heights; gradient descent.
"use strict";

const HEIGHT_RANGE = 3;   // the heights canvas shows h in [−3, 3]
const state = { pair: null, bumps: null, heights: null, n: 10, fit: null, shown: 0, fitting: false };

function value(id) { return Number(document.getElementById(id).value); }

async function runPair() {
  const body = { w: Math.pow(10, value("logw")), s1: value("s1"), s2: value("s2"), h: value("h") };
  state.pair = await BOOK.compute("ch4/pair", body, document.getElementById("pair"));
  drawPair();
}

function drawPair() {
  const p = state.pair, line = (ys, color, width) => ({ color, width, points: p.x.map((x, i) => [x, ys[i]]) });
  NN.lineChart(document.getElementById("pairChart"), { xLabel: "x", series: [
    line(p.steps[0], "#9dbaf5", 1), line(p.steps[1], "#f5b97a", 1), line(p.bump, "#2f7fc1", 3)] });
}

async function runBumps() {
  const body = { n: state.n, heights: state.heights };
  const answer = await BOOK.compute("ch4/bumps", body, document.getElementById("bumps"));
  state.bumps = answer;
  if (state.heights === null) state.heights = answer.heights.slice();
  drawBumps();
}

function drawHeights() {
  const { ctx, w, h } = NN.fit(document.getElementById("heights"));
  ctx.clearRect(0, 0, w, h);
  const n = state.heights.length, Y = (v) => h / 2 - v / HEIGHT_RANGE * (h / 2 - 6);
  ctx.strokeStyle = "#e3e7ee"; ctx.beginPath(); ctx.moveTo(0, Y(0)); ctx.lineTo(w, Y(0)); ctx.stroke();
  const target = state.bumps ? state.bumps.hand_heights : [];
  state.heights.forEach((v, j) => {
    const x0 = j * w / n + 2, bw = w / n - 4;
    ctx.fillStyle = "#f08a24"; ctx.fillRect(x0, Math.min(Y(0), Y(v)), bw, Math.abs(Y(v) - Y(0)));
    if (target[j] !== undefined) {   // where σ⁻¹(f(mⱼ)) is: a thin mark to aim at
      ctx.strokeStyle = "#1d2433"; ctx.beginPath(); ctx.moveTo(x0, Y(target[j])); ctx.lineTo(x0 + bw, Y(target[j])); ctx.stroke();
    }
  });
  ctx.fillStyle = "#8a94a6"; ctx.font = "11px system-ui";
  ctx.fillText(`h = +${HEIGHT_RANGE}`, 4, 12); ctx.fillText(`h = −${HEIGHT_RANGE}`, 4, h - 4);
}

function drawBumps() {
  const b = state.bumps;
  drawHeights();
  NN.lineChart(document.getElementById("bumpsChart"), { xLabel: "x", yMin: 0, yMax: 1, series: [
    { color: "#1d2433", points: b.x.map((x, i) => [x, b.f[i]]) },
    { color: "#f08a24", points: b.x.map((x, i) => [x, b.output[i]]) }] });
  document.getElementById("deviationShown").textContent = b.mean_deviation.toFixed(5);
}

const bumpsAgain = BOOK.throttle(runBumps, 60);   // one request at a time, the newest settings last

function dragHeights() {
  const canvas = document.getElementById("heights");
  let dragging = false;
  const set = (event) => {
    const r = canvas.getBoundingClientRect(), n = state.heights.length;
    const j = Math.max(0, Math.min(n - 1, Math.floor((event.clientX - r.left) / r.width * n)));
    const v = (r.height / 2 - (event.clientY - r.top)) / (r.height / 2 - 6) * HEIGHT_RANGE;
    state.heights[j] = Math.round(Math.max(-HEIGHT_RANGE, Math.min(HEIGHT_RANGE, v)) * 100) / 100;
    drawHeights();
    bumpsAgain();
  };
  canvas.addEventListener("pointerdown", (e) => { dragging = true; canvas.setPointerCapture(e.pointerId); set(e); });
  canvas.addEventListener("pointermove", (e) => { if (dragging) set(e); });
  canvas.addEventListener("pointerup", () => { dragging = false; });
}

async function runFit() {
  const start = document.querySelector("#fitStart button.on").dataset.start;
  const body = { n: state.n, start, epochs: value("fitEpochs"), eta: value("fitEta") };
  if (start === "bumps") body.heights = state.heights;
  state.fitting = true;
  document.getElementById("fitRun").disabled = true;
  document.getElementById("fitReadout").textContent = `fitting ${body.epochs} epochs on the server…`;
  try {
    const answer = await BOOK.compute("ch4/fit", body, document.getElementById("fit"));
    state.fit = answer;
    // replay the snapshots, about 80 ms each
    let i = 0;
    const next = () => {
      state.shown = i; drawFit(i);
      if (++i < answer.snapshots.length && state.fit === answer) setTimeout(next, 80);
      else { state.fitting = false; document.getElementById("fitRun").disabled = false; }
    };
    next();
  } catch (err) {
    state.fitting = false; document.getElementById("fitRun").disabled = false;
  }
}

function drawFit(i) {
  const f = state.fit, b = state.bumps, snap = f.snapshots[i];
  NN.lineChart(document.getElementById("fitChart"), { xLabel: "x", yMin: 0, yMax: 1, series: [
    { color: "#1d2433", points: b.x.map((x, k) => [x, b.f[k]]) },
    { color: "#f08a24", dash: [4, 3], width: 1.5, points: b.x.map((x, k) => [x, b.output[k]]) },
    { color: "#2f7fc1", points: b.x.map((x, k) => [x, snap.output[k]]) }] });
  NN.lineChart(document.getElementById("fitCost"), { xLabel: "epoch", series: [
    { color: "#2f7fc1", points: f.costs.slice(0, snap.epoch).map((c, k) => [k + 1, Math.log10(c)]) }] });
  const done = i === f.snapshots.length - 1;
  document.getElementById("fitReadout").innerHTML = f.diverged
    ? `<span style="color:var(--bad)">${NN.escape(f.diverged)}</span>`
    : `epoch <b id="fitEpochShown">${snap.epoch}</b> of ${f.epochs}` +
      (done ? `: training cost <b id="fitCostShown">${f.costs[f.costs.length - 1].toFixed(6)}</b>, ` +
        `mean deviation ${f.mean_deviation_before.toFixed(5)} → <b id="fitDeviationShown">${f.mean_deviation_after.toFixed(5)}</b> ` +
        `(your bumps: ${b.mean_deviation.toFixed(5)})` : "");
}

document.addEventListener("DOMContentLoaded", () => {
  const pair = BOOK.throttle(runPair, 60);
  for (const id of ["logw", "s1", "s2", "h"]) {
    const input = document.getElementById(id);
    const show = () => BOOK.showValue(input, id === "logw" ? (v) => Math.pow(10, v).toPrecision(3) : undefined);
    show();
    input.addEventListener("input", () => { show(); pair(); });
  }
  for (const b of document.querySelectorAll("#pairs button")) b.addEventListener("click", () => {
    for (const o of document.querySelectorAll("#pairs button")) o.classList.toggle("on", o === b);
    state.n = Number(b.dataset.n); state.heights = new Array(state.n).fill(0); bumpsAgain();
  });
  document.getElementById("zero").addEventListener("click", () => { state.heights = new Array(state.n).fill(0); bumpsAgain(); });
  document.getElementById("match").addEventListener("click", () => { state.heights = null; bumpsAgain(); });
  for (const b of document.querySelectorAll("#fitStart button")) b.addEventListener("click", () => {
    for (const o of document.querySelectorAll("#fitStart button")) o.classList.toggle("on", o === b);
    document.getElementById("fitEta").value = b.dataset.start === "random" ? 0.03 : 0.001;
  });
  document.getElementById("fitRun").addEventListener("click", runFit);
  dragHeights();
  state.heights = new Array(state.n).fill(0);   // the reader starts from flat heights, as in the book
  runPair();
  bumpsAgain();
});
window.addEventListener("resize", () => {
  if (state.pair) drawPair(); if (state.bumps) drawBumps(); if (state.fit) drawFit(state.shown);
});
