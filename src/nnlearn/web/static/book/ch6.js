// Book, chapter 6: a small convnet's filters and feature maps while it trains (a Book
// training session).
"use strict";

const state = BOOK.session("ch6", document.getElementById("convnet"), render);

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

function render(snap, history) {
  NN.drawGrey(document.getElementById("digit"), snap.digit);
  canvases(document.getElementById("filters"), snap.filters.length).forEach((c, j) => drawSigned(c, snap.filters[j]));
  canvases(document.getElementById("maps"), snap.feature_maps.length).forEach((c, j) =>   // each map by its own largest value
    NN.drawGrey(c, snap.feature_maps[j], Math.max(1e-9, ...snap.feature_maps[j].flat())));
  NN.lineChart(document.getElementById("accuracyChart"), { xLabel: "epoch", yMin: 0, yMax: 1,
    series: [{ color: "#2f7fc1", dots: true, points: history.map((r) => [r.epoch, r.accuracy]) }] });
  document.getElementById("readout").innerHTML =
    `epoch <b id="epochShown">${snap.epoch}</b> of ${snap.max_epochs}: test accuracy ` +
    `<b id="accuracyShown">${(100 * snap.accuracy).toFixed(1)}</b>% on 500 images` +
    (snap.error ? ` — <span style="color:var(--bad)">${NN.escape(snap.error)}</span>` : "");
}

document.addEventListener("DOMContentLoaded", () => {
  BOOK.choice("filterCount", (v) => state.start({ filters: Number(v) }));
  state.start({ filters: 8 });
});
