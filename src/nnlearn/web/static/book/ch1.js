// Book, chapter 1: a perceptron beside a sigmoid neuron; gradient descent on C(w, b).
"use strict";

const state = { neuron: null, descent: null };

async function runNeuron() {
  const w = Number(document.getElementById("w").value), b = Number(document.getElementById("b").value);
  const answer = await BOOK.compute("ch1/neuron", { w, b }, document.getElementById("neuron"));
  state.neuron = answer;
  drawNeuron();
}

function drawNeuron() {
  const n = state.neuron;
  NN.lineChart(document.getElementById("neuronChart"), {
    xLabel: "input x", yMin: 0, yMax: 1,
    series: [{ color: "#1d2433", points: n.x.map((x, i) => [x, n.step[i]]) },
             { color: "#2f7fc1", points: n.x.map((x, i) => [x, n.sigmoid[i]]) }] });
  const mid = Math.floor(n.x.length / 2);
  document.getElementById("neuronReadout").innerHTML =
    `threshold s = −b/w = <b id="threshold">${n.threshold === null ? "none (w = 0)" : n.threshold.toFixed(3)}</b>; ` +
    `at x = 0: step <b>${n.step[mid]}</b>, σ(b) = <b id="sigmoidAtZero">${n.sigmoid[mid].toFixed(4)}</b>`;
}

async function runDescent() {
  const eta = Number(document.getElementById("eta").value);
  const steps = Number(document.getElementById("steps").value);
  const answer = await BOOK.compute("ch1/descent", { eta, steps }, document.getElementById("descent"));
  state.descent = answer;
  drawDescent();
}

function drawSurface(canvas, d) {
  const { ctx, w: width, h: height } = NN.fit(canvas);
  const grid = d.surface.log10_cost, rows = grid.length, cols = grid[0].length;
  let lo = Infinity, hi = -Infinity;
  for (const row of grid) for (const v of row) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const small = document.createElement("canvas");   // one pixel per grid point, then scaled smoothly
  small.width = cols; small.height = rows;
  const image = small.getContext("2d").createImageData(cols, rows);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    const g = Math.round(70 + 180 * (grid[r][c] - lo) / (hi - lo)), i = 4 * ((rows - 1 - r) * cols + c);
    image.data[i] = image.data[i + 1] = g; image.data[i + 2] = g + 6; image.data[i + 3] = 255;  // rows run up in b
  }
  small.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.clearRect(0, 0, width, height);
  ctx.drawImage(small, 0, 0, width, height);
  const [w0, w1] = d.surface.w, [b0, b1] = d.surface.b;
  const X = (w) => (w - w0) / (w1 - w0) * width, Y = (b) => height - (b - b0) / (b1 - b0) * height;
  ctx.strokeStyle = "#f08a24"; ctx.fillStyle = "#f08a24"; ctx.lineWidth = 2;
  ctx.beginPath();
  d.path.forEach(([w, b], i) => { if (i === 0) ctx.moveTo(X(w), Y(b)); else ctx.lineTo(X(w), Y(b)); });
  ctx.stroke();
  for (const [w, b] of d.path) { ctx.beginPath(); ctx.arc(X(w), Y(b), 2.5, 0, 7); ctx.fill(); }
  ctx.fillStyle = "#d64545"; ctx.font = "18px system-ui"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
  ctx.fillText("★", X(d.minimum[0]), Y(d.minimum[1]));
  ctx.fillStyle = "#1d2433"; ctx.font = "11px system-ui"; ctx.textAlign = "left"; ctx.textBaseline = "bottom";
  ctx.fillText(`w ∈ [${w0}, ${w1}], b ∈ [${b0}, ${b1}]`, 6, height - 4);
}

function drawDescent() {
  const d = state.descent;
  drawSurface(document.getElementById("surface"), d);
  NN.lineChart(document.getElementById("descentChart"), {
    xLabel: "step", series: [{ color: "#f08a24", dots: d.path.length < 60,
                               points: d.costs.map((c, i) => [i, Math.log10(c)]) }] });
  const [w, b] = d.path[d.path.length - 1], last = d.costs[d.costs.length - 1];
  const verdict = d.diverged ? `<span style="color:var(--bad)">${NN.escape(d.diverged)}</span>`
    : d.eta > d.eta_limit ? `<span style="color:var(--bad)">η &gt; 2/λ_max: diverging</span>`
    : last < 1e-6 ? "converged" : "descending";
  document.getElementById("descentReadout").innerHTML =
    `after <b id="stepsShown">${d.path.length - 1}</b> steps: (w, b) = (<b id="wShown">${w.toPrecision(6)}</b>, ` +
    `<b id="bShown">${b.toPrecision(6)}</b>), C = <b id="costShown">${last.toPrecision(6)}</b> ` +
    `(start ${d.costs[0].toPrecision(4)}); 2/λ_max = ${d.eta_limit.toFixed(3)} — ${verdict}`;
}

document.addEventListener("DOMContentLoaded", () => {
  const neuron = BOOK.throttle(runNeuron, 60), descent = BOOK.throttle(runDescent, 80);
  for (const [id, again] of [["w", neuron], ["b", neuron], ["eta", descent], ["steps", descent]]) {
    const input = document.getElementById(id);
    BOOK.showValue(input);
    input.addEventListener("input", () => { BOOK.showValue(input); again(); });
  }
  runNeuron();
  runDescent();
});
window.addEventListener("resize", () => { if (state.neuron) drawNeuron(); if (state.descent) drawDescent(); });
