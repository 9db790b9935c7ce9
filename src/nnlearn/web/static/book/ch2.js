// Book, chapter 2: backprop step by step on a [2, 3, 2] network; every number explains itself.
"use strict";

const state = { bp: null, picked: null };
const SUB = (n) => String(n).replace(/\d/g, (d) => "₀₁₂₃₄₅₆₇₈₉"[d]);
const SUP = (n) => String(n).replace(/\d/g, (d) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[d]);

function num(key, value, digits) {
  return `<span class="num" data-q="${key}">${NN.fmt(value, digits === undefined ? 5 : digits)}</span>`;
}

function fd(exact, approx) {
  const gap = Math.abs(exact - approx), ok = gap <= 1e-7 + 1e-6 * Math.abs(exact);
  return `<span class="fd${ok ? "" : " bad"}" title="finite difference">fd ${approx.toFixed(7)}</span>`;
}

function neuronCard(layer, j) {
  const l = layer.layer, isOutput = l === state.bp.sizes.length;
  return `<div class="neuron">` +
    `<div><span>z${SUP(l)}${SUB(j + 1)}</span>${num(`z${l}_${j + 1}`, layer.z[j])}</div>` +
    `<div><span>a${SUP(l)}${SUB(j + 1)}</span>${num(`a${l}_${j + 1}`, layer.a[j])}</div>` +
    (isOutput ? `<div><span>y${SUB(j + 1)}</span><span>${state.bp.y[j]}</span></div>` : "") +
    `<div><span>δ${SUP(l)}${SUB(j + 1)} (${isOutput ? "BP1" : "BP2"})</span>${num(`delta${l}_${j + 1}`, layer.delta[j], 6)}</div>` +
    `<div><span>∂C/∂b (BP3)</span>${num(`db${l}_${j + 1}`, layer.dC_db[j], 6)}</div>` +
    `<div><span></span>${fd(layer.dC_db[j], layer.fd_db[j])}</div></div>`;
}

function render() {
  const bp = state.bp;
  const inputs = bp.x.map((v, k) => `<div class="neuron"><div><span>a¹${SUB(k + 1)} = x${SUB(k + 1)}</span><span>${v}</span></div></div>`).join("");
  document.getElementById("net").innerHTML =
    `<div class="col"><h4>layer 1 (input)</h4>${inputs}</div>` +
    bp.layers.map((layer) => `<div class="col"><h4>layer ${layer.layer} (${layer.layer === bp.sizes.length ? "output" : "hidden"})</h4>` +
      layer.z.map((_, j) => neuronCard(layer, j)).join("") + "</div>").join("");
  document.getElementById("costShown").textContent = bp.cost.toFixed(8);
  document.getElementById("weights").innerHTML = bp.layers.map((layer) => {
    const l = layer.layer;
    const rows = layer.W.map((row, j) => row.map((w, k) =>
      `<tr><td>w${SUP(l)}${SUB(j + 1)}${SUB(k + 1)}</td><td>${NN.fmt(w, 5)}</td>` +
      `<td>${num(`dw${l}_${j + 1}_${k + 1}`, layer.dC_dW[j][k], 6)}</td>` +
      `<td>${fd(layer.dC_dW[j][k], layer.fd_dW[j][k])}</td></tr>`).join("")).join("");
    return `<div><div class="small muted">weights into layer ${l} and ∂C/∂w (BP4)</div>` +
      `<table class="bp-w"><tr><th></th><th>w</th><th>∂C/∂w</th><th>finite difference</th></tr>${rows}</table></div>`;
  }).join("");
  for (const el of document.querySelectorAll(".num")) {
    el.addEventListener("click", () => pick(el.dataset.q));
  }
  if (state.picked && bp.explain[state.picked]) pick(state.picked);
}

function pick(key) {
  state.picked = key;
  for (const el of document.querySelectorAll(".num")) el.classList.toggle("picked", el.dataset.q === key);
  const e = state.bp.explain[key];
  const rows = e.terms.map(([name, value]) => `<tr><td>${NN.escape(name)}</td><td>${value.toPrecision(6)}</td></tr>`).join("");
  const parts = e.parts ? `<div class="eq" style="margin-top:6px">where the sum is</div><table>` +
    e.parts.map(([name, value]) => `<tr><td>${NN.escape(name)}</td><td>${value.toPrecision(6)}</td></tr>`).join("") + "</table>" : "";
  const check = e.fd === undefined ? "" :
    `<div style="margin-top:6px">finite difference (C(θ + h) − C(θ − h))/2h = ${e.fd.toPrecision(8)} ` +
    `(difference ${Math.abs(e.fd - e.value).toExponential(1)})</div>`;
  document.getElementById("explain").innerHTML =
    `<div class="eq">${NN.escape(e.equation)}</div>` +
    `<div><b id="explainSymbol">${NN.escape(e.symbol)}</b> = ${NN.escape(e.expression)} = <b id="explainValue">${e.value.toPrecision(8)}</b></div>` +
    `<table id="explainTerms">${rows}</table>${parts}${check}`;
}

async function run() {
  const x = [Number(document.getElementById("x1").value), Number(document.getElementById("x2").value)];
  const y = document.querySelector("#target button.on").dataset.y.split(",").map(Number);
  const seed = Number(document.getElementById("seed").value);
  state.bp = await BOOK.compute("ch2/backprop", { x, y, seed }, document.getElementById("backprop"));
  render();
}

document.addEventListener("DOMContentLoaded", () => {
  const again = BOOK.throttle(run, 60);
  for (const id of ["x1", "x2"]) {
    const input = document.getElementById(id);
    BOOK.showValue(input);
    input.addEventListener("input", () => { BOOK.showValue(input); again(); });
  }
  document.getElementById("seed").addEventListener("change", again);
  for (const b of document.querySelectorAll("#target button")) b.addEventListener("click", () => {
    for (const o of document.querySelectorAll("#target button")) o.classList.toggle("on", o === b);
    again();
  });
  run();
});
