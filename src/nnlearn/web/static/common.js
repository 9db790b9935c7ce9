// nnlearn serve: helpers shared by the three pages (no libraries).
"use strict";

const NN = {};

/** JSON request to the API; throws an Error carrying the server's message and field. */
NN.api = async function (path, body, method) {
  const init = { method: method || (body === undefined ? "GET" : "POST"), headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    const err = new Error((data && data.error) || `${response.status} ${response.statusText}`);
    err.status = response.status;
    err.field = data && data.field;
    throw err;
  }
  return data;
};

/** Show a message in a .banner element (empty text hides it). */
NN.banner = function (el, text, kind) {
  el.textContent = text || "";
  el.className = "banner " + (kind || "error") + (text ? " show" : "");
};

// Diverging colours: orange (−1) — white (0) — blue (+1), as on the page's colour bar.
const NEG = [240, 138, 36], MID = [250, 251, 253], POS = [47, 127, 193];
NN.colorTable = (function () {
  const table = new Uint8ClampedArray(256 * 3);
  for (let q = 0; q < 256; q++) {
    const t = q / 127.5 - 1;
    const end = t < 0 ? NEG : POS, s = Math.min(1, Math.abs(t));
    for (let c = 0; c < 3; c++) table[3 * q + c] = MID[c] + (end[c] - MID[c]) * s;
  }
  return table;
})();
NN.color = function (t, alpha) {  // t in [−1, 1]
  const q = Math.max(0, Math.min(255, Math.round((t + 1) * 127.5)));
  const T = NN.colorTable;
  return `rgba(${T[3 * q]},${T[3 * q + 1]},${T[3 * q + 2]},${alpha === undefined ? 1 : alpha})`;
};

/** Decode a base64 heat map (bytes, 128 = 0) into a canvas of res × res pixels. */
NN.drawMap = function (canvas, b64, res, discrete) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  if (canvas.width !== res) { canvas.width = res; canvas.height = res; }
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(res, res);
  const T = NN.colorTable;
  for (let i = 0; i < res * res; i++) {
    let q = bytes[i];
    if (discrete) q = q >= 128 ? 210 : 45;
    img.data[4 * i] = T[3 * q]; img.data[4 * i + 1] = T[3 * q + 1];
    img.data[4 * i + 2] = T[3 * q + 2]; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
};

/** A greyscale image (rows of values in [0, 1], 1 = white) into a canvas. */
NN.drawGrey = function (canvas, rows, scale) {
  const h = rows.length, w = h ? rows[0].length : 0;
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(Math.max(w, 1), Math.max(h, 1));
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const v = Math.round(Math.max(0, Math.min(1, rows[y][x] / (scale || 1))) * 255), i = 4 * (y * w + x);
    img.data[i] = img.data[i + 1] = img.data[i + 2] = v; img.data[i + 3] = 255;
  }
  if (w && h) ctx.putImageData(img, 0, 0);
};

/** Size a canvas's backing store to its CSS box (sharp on high-DPI screens); returns its context. */
NN.fit = function (canvas) {
  const r = window.devicePixelRatio || 1, w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * r) || canvas.height !== Math.round(h * r)) {
    canvas.width = Math.round(w * r); canvas.height = Math.round(h * r);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(r, 0, 0, r, 0, 0);
  return { ctx, w, h };
};

/** Ticks at round numbers (1, 2 or 5 × 10ⁿ apart) covering [lo, hi]; whole numbers only with `integer`. */
NN.niceTicks = function (lo, hi, count, integer) {
  if (!(hi > lo)) { hi = lo + 1; }
  const raw = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  let step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  if (integer) step = Math.max(1, Math.round(step));
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(+v.toFixed(10));
  return ticks;
};

function formatTick(v) {
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1000) return NN.minus(v.toFixed(0));
  if (a >= 1) return NN.minus(+v.toFixed(2) + "");
  return NN.minus(+v.toPrecision(2) + "");
}

/** Text with the typographic minus sign (U+2212) for every hyphen-minus, as the page writes numbers. */
NN.minus = function (text) { return String(text).replace(/-/g, "−"); };

/**
 * Line chart on a canvas. opts: {series: [{label, color, points: [[x, y], ...], dash}],
 * xLabel, yLabel, yMin, yMax, yFormat (tick → text), empty}
 */
NN.lineChart = function (canvas, opts) {
  const { ctx, w, h } = NN.fit(canvas);
  ctx.clearRect(0, 0, w, h);
  const series = opts.series.filter((s) => s.points.length);
  const pad = { l: opts.yLabel ? 58 : 46, r: 12, t: 10, b: opts.xLabel ? 32 : 20 };
  ctx.font = "11px system-ui, sans-serif";
  if (!series.length) {
    ctx.fillStyle = "#8a94a6"; ctx.textAlign = "center";
    ctx.fillText(opts.empty || "no data yet", w / 2, h / 2);
    return;
  }
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const s of series) for (const [x, y] of s.points) {
    if (y === null || !isFinite(y)) continue;
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  if (opts.yMin !== undefined) y0 = Math.min(y0, opts.yMin);
  if (opts.yMax !== undefined) y1 = Math.max(y1, opts.yMax);
  if (x1 <= x0) x1 = x0 + 1;
  canvas.dataset.xTicks = NN.niceTicks(x0, x1, Math.max(2, Math.floor(w / 90)), opts.xInteger).filter((t) => t >= x0 && t <= x1).join(",");
  if (y1 <= y0) { y1 = y0 + Math.max(1e-3, Math.abs(y0) * 0.1); }
  const yPad = (y1 - y0) * 0.06; y0 -= opts.yMin === undefined ? yPad : 0; y1 += yPad;
  const X = (x) => pad.l + (x - x0) / (x1 - x0) * (w - pad.l - pad.r);
  const Y = (y) => h - pad.b - (y - y0) / (y1 - y0) * (h - pad.t - pad.b);
  ctx.strokeStyle = "#e6e9f0"; ctx.fillStyle = "#8a94a6"; ctx.lineWidth = 1;
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const t of NN.niceTicks(y0, y1, Math.max(3, Math.min(6, Math.floor((h - pad.t - pad.b) / 28))))) {
    if (t < y0 - 1e-12 || t > y1 + 1e-12) continue;
    ctx.beginPath(); ctx.moveTo(pad.l, Y(t) + 0.5); ctx.lineTo(w - pad.r, Y(t) + 0.5); ctx.stroke();
    ctx.fillText((opts.yFormat || formatTick)(t), pad.l - 6, Y(t));
  }
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const t of NN.niceTicks(x0, x1, Math.max(2, Math.floor(w / 90)), opts.xInteger)) {
    if (t < x0 || t > x1) continue;
    ctx.fillText(formatTick(t), X(t), h - pad.b + 5);
  }
  if (opts.xLabel) { ctx.fillText(opts.xLabel, pad.l + (w - pad.l - pad.r) / 2, h - 14); }
  if (opts.yLabel) {  // the y axis's name, written upwards beside its ticks
    ctx.save(); ctx.translate(11, pad.t + (h - pad.t - pad.b) / 2); ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center"; ctx.textBaseline = "middle"; ctx.fillText(opts.yLabel, 0, 0); ctx.restore();
  }
  for (const s of series) {
    ctx.strokeStyle = s.color; ctx.lineWidth = s.width || 2; ctx.setLineDash(s.dash || []);
    ctx.beginPath();
    let started = false;
    for (const [x, y] of s.points) {
      if (y === null || !isFinite(y)) { started = false; continue; }
      if (!started) { ctx.moveTo(X(x), Y(y)); started = true; } else ctx.lineTo(X(x), Y(y));
    }
    ctx.stroke();
    if (s.points.length === 1 || s.dots) {
      ctx.fillStyle = s.color;
      for (const [x, y] of s.points) { ctx.beginPath(); ctx.arc(X(x), Y(y), 2.6, 0, 7); ctx.fill(); }
    }
  }
  ctx.setLineDash([]);
};

NN.fmt = function (v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  return NN.minus(Number(v).toFixed(digits === undefined ? 3 : digits));
};

NN.escape = function (text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
};

// Mark the current page's tab.
document.addEventListener("DOMContentLoaded", () => {
  for (const a of document.querySelectorAll(".tabs a")) {
    const here = location.pathname === "/" ? "/playground" : location.pathname;
    if (a.getAttribute("href") === here) a.classList.add("active");
  }
});
