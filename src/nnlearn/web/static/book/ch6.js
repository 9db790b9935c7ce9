// Book, chapter 6: a small convnet's filters and feature maps while it trains; a session of the
// playground's pool, driven by its stream and controls.
"use strict";

const state = { snap: null, history: [], session: null, source: null };

/** Values in a canvas: diverging colours scaled by the largest |value| (filters). */
function drawSigned(canvas, rows) {
  const h = rows.length, w = rows[0].length;
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(w, h);
  const scale = Math.max(1e-9, ...rows.flat().map(Math.abs));
  rows.flat().forEach((v, i) => {
    const [r, g, b] = NN.color(v / scale).match(/[\d.]+/g).map(Number);
    img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255;
  });
  ctx.putImageData(img, 0, 0);
}

function canvases(container, count) {
  while (container.children.length < count) container.appendChild(document.createElement("canvas"));
  while (container.children.length > count) container.lastChild.remove();
  return [...container.children];
}

async function start() {
  if (state.source) state.source.close();
  if (state.session) NN.api(`/api/playground/${state.session}/close`, {}).catch(() => {});
  state.snap = null; state.history = [];
  const filters = Number(document.querySelector("#filterCount button.on").dataset.v);
  const snap = await BOOK.compute("ch6/session", { filters }, document.getElementById("convnet"));
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
  document.querySelector("#convnet pre.code").textContent = snap.code;
  NN.drawGrey(document.getElementById("digit"), snap.digit);
  canvases(document.getElementById("filters"), snap.filters.length).forEach((c, j) => drawSigned(c, snap.filters[j]));
  canvases(document.getElementById("maps"), snap.feature_maps.length).forEach((c, j) =>   // each map by its own largest value
    NN.drawGrey(c, snap.feature_maps[j], Math.max(1e-9, ...snap.feature_maps[j].flat())));
  NN.lineChart(document.getElementById("accuracyChart"), { xLabel: "epoch", yMin: 0, yMax: 1,
    series: [{ color: "#2f7fc1", dots: true, points: state.history.map((r) => [r.epoch, r.accuracy]) }] });
  document.getElementById("readout").innerHTML =
    `epoch <b id="epochShown">${snap.epoch}</b> of ${snap.max_epochs}: test accuracy ` +
    `<b id="accuracyShown">${(100 * snap.accuracy).toFixed(1)}</b>% on 500 images` +
    (snap.error ? ` — <span style="color:var(--bad)">${NN.escape(snap.error)}</span>` : "");
  document.getElementById("play").textContent = snap.playing ? "Pause" : "Play";
}

async function control(action) {
  try {
    await NN.api(`/api/playground/${state.session}/control`, { action });
  } catch (err) { NN.banner(document.getElementById("banner"), err.message); }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const b of document.querySelectorAll("#filterCount button")) b.addEventListener("click", () => {
    for (const o of document.querySelectorAll("#filterCount button")) o.classList.toggle("on", o === b);
    start();
  });
  document.getElementById("play").addEventListener("click", () => control(state.snap && state.snap.playing ? "pause" : "play"));
  document.getElementById("step").addEventListener("click", () => control("step"));
  document.getElementById("reset").addEventListener("click", () => control("reset"));
  window.addEventListener("pagehide", () => {
    if (state.session) navigator.sendBeacon(`/api/playground/${state.session}/close`,
                                            new Blob(["{}"], { type: "application/json" }));
  });
  start();
});
