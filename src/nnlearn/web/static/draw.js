// Draw a digit: strokes on a canvas, sent to POST /api/predict while you draw.
"use strict";

const $ = (id) => document.getElementById(id);
const pad = $("pad"), ink = pad.getContext("2d");
const state = { drawing: false, last: null, busy: false, again: false, strokes: 0, ink: 0, answer: null };
const MIN_INK = 12;  // pixels of stroke before the first request: a lone dot is not a digit (400)

function clearPad() {
  ink.fillStyle = "#fff"; ink.fillRect(0, 0, pad.width, pad.height);
  state.strokes = 0; state.ink = 0;
  $("digit").textContent = "?"; $("confidence").textContent = "draw a digit";
  drawBars(null);
  for (const id of ["stepDrawing", "stepPaper", "stepInk", "stepCropped", "stepScaled", "stepCentred"]) {
    const c = $(id); c.getContext("2d").clearRect(0, 0, c.width, c.height);
  }
}

function position(event) {
  const r = pad.getBoundingClientRect();
  return [(event.clientX - r.left) * pad.width / r.width, (event.clientY - r.top) * pad.height / r.height];
}

function stroke(from, to) {
  ink.strokeStyle = "#111"; ink.lineWidth = 19; ink.lineCap = "round"; ink.lineJoin = "round";
  ink.beginPath(); ink.moveTo(from[0], from[1]); ink.lineTo(to[0], to[1]); ink.stroke();
}

pad.addEventListener("pointerdown", (e) => {
  pad.setPointerCapture(e.pointerId);
  state.drawing = true; state.last = position(e); state.strokes += 1;
  stroke(state.last, state.last);  // drawn, not sent: the moves that follow send it
});
pad.addEventListener("pointermove", (e) => {
  if (!state.drawing) return;
  const p = position(e);
  state.ink += Math.hypot(p[0] - state.last[0], p[1] - state.last[1]);
  stroke(state.last, p); state.last = p;
  requestPrediction();
});
for (const type of ["pointerup", "pointercancel"]) {
  pad.addEventListener(type, () => { if (state.drawing) { state.drawing = false; requestPrediction(); } });
}

function requestPrediction() {
  if (!state.strokes || state.ink < MIN_INK) return;
  if (state.busy) { state.again = true; return; }
  state.busy = true;
  const body = { image: pad.toDataURL("image/png"), steps: true };  // about 7 kB
  if ($("model").value) body.model = $("model").value;
  NN.api("/api/predict", body).then(show).catch((err) => {
    if (err.field === "image") {  // no ink yet, or two separate marks: say which
      $("confidence").textContent = /separate marks/.test(err.message) ? "one digit, please: " + err.message : "keep drawing…";
    }
    else NN.banner($("banner"), err.message);
  }).finally(() => {
    state.busy = false;
    if (state.again) { state.again = false; requestPrediction(); }
  });
}

function show(answer) {
  state.answer = answer;
  NN.banner($("banner"), "");
  const p = answer.probabilities;
  $("digit").textContent = answer.digit;
  $("confidence").innerHTML = `p = ${p[answer.digit].toFixed(3)}<br><span class="small">model: ${NN.escape(answer.model)}</span>`;
  drawBars(p);
  const [top, left, bottom, right] = answer.steps.box;
  const drawing = $("stepDrawing"), dctx = drawing.getContext("2d");
  drawing.width = pad.width; drawing.height = pad.height;
  dctx.drawImage(pad, 0, 0);
  dctx.strokeStyle = "#3d6fd8"; dctx.lineWidth = 4; dctx.setLineDash([10, 6]);
  dctx.strokeRect(left, top, right - left, bottom - top);
  NN.drawGrey($("stepPaper"), answer.steps.paper);
  drawInk($("stepInk"), answer.steps.ink);
  $("inkNote").textContent = `paper removed; ${answer.steps.dark_ink ? "dark" : "light"} ink above ` +
    `${answer.steps.threshold.toFixed(2)} of the strokes' level; the digit's connected strokes white, specks red`;
  const cropped = $("stepCropped"), side = Math.max(bottom - top, right - left);
  cropped.width = side; cropped.height = side;
  const cctx = cropped.getContext("2d");
  cctx.fillStyle = "#000"; cctx.fillRect(0, 0, side, side);
  cctx.filter = "invert(1)";
  cctx.drawImage(pad, left, top, right - left, bottom - top,
    (side - (right - left)) / 2, (side - (bottom - top)) / 2, right - left, bottom - top);
  cctx.filter = "none";
  const scaled = answer.steps.scaled;
  $("scaledSize").textContent = `into ${scaled.length} × ${scaled[0].length} (20 × 20 box)`;
  NN.drawGrey($("stepScaled"), padTo(scaled, 20));
  NN.drawGrey($("stepCentred"), answer.input);
}

/** The ink on the kept strokes in grey (v > 0), the marks set aside in red (v < 0). */
function drawInk(canvas, rows) {
  const h = rows.length, w = h ? rows[0].length : 0;
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(Math.max(w, 1), Math.max(h, 1));
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const v = Math.round(Math.min(1, Math.abs(rows[y][x])) * 255), i = 4 * (y * w + x);
    img.data[i] = v; img.data[i + 1] = img.data[i + 2] = rows[y][x] < 0 ? 0 : v; img.data[i + 3] = 255;
  }
  if (w && h) ctx.putImageData(img, 0, 0);
}

/** Centre a small image in a side × side black field (for display only). */
function padTo(rows, side) {
  const out = Array.from({ length: side }, () => new Array(side).fill(0));
  const top = Math.floor((side - rows.length) / 2), left = Math.floor((side - rows[0].length) / 2);
  rows.forEach((row, y) => row.forEach((v, x) => { out[top + y][left + x] = v; }));
  return out;
}

function drawBars(p) {
  const bars = $("bars");
  if (!bars.children.length) {
    for (let d = 0; d < 10; d++) {
      bars.insertAdjacentHTML("beforeend",
        `<div class="bar" data-digit="${d}"><span class="d">${d}</span><div class="track"><div class="fill"></div></div><span class="p">–</span></div>`);
    }
  }
  const best = p ? p.indexOf(Math.max(...p)) : -1;
  [...bars.children].forEach((bar, d) => {
    bar.classList.toggle("top", d === best);
    bar.querySelector(".fill").style.width = p ? (100 * p[d]).toFixed(1) + "%" : "0";
    bar.querySelector(".p").textContent = p ? p[d].toFixed(3) : "–";
  });
}

async function loadModels() {
  try {
    const info = await NN.api("/api/models");
    const select = $("model");
    for (const m of info.models) {
      const option = document.createElement("option");
      option.value = m.name; option.textContent = m.label;
      select.appendChild(option);
    }
    select.value = info.default;
    const shipped = info.models[0];
    const note = () => {  // says what answers now, so it never goes stale
      $("modelNote").textContent = select.value === "shipped"
        ? `The shipped model ([784, 100, 10], ${(100 * shipped.test_accuracy).toFixed(2)}% on MNIST's test set, ` +
          `made by ${shipped.trained_by}); choose one of your runs above to use its model.`
        : `Your run ${select.value}'s model.`;
    };
    note();
    select.addEventListener("change", note);
  } catch (err) { NN.banner($("banner"), err.message); }
}

$("clear").addEventListener("click", clearPad);
$("model").addEventListener("change", requestPrediction);
clearPad();
loadModels();
