// The Playground page: controls, the network diagram, heat maps and the backprop panel.
// The network lives on the server (nnlearn); this page only sends settings and draws snapshots.
"use strict";

const $ = (id) => document.getElementById(id);
// The settings' names, their older aliases, the choice lists and the layer limits come from
// the server (GET /api/playground/datasets: nnlearn.web.playground.limits).
let LIMITS = null;

const state = {
  session: null, source: null, settings: null, defaults: null, features: {}, datasets: {},
  history: [], points: { train: [], test: [] }, snap: null, featureMaps: {},
  selected: null, inspect: { split: "train", index: 0 }, clickMode: "1", codeTab: "python",
  shape: "", backpropBusy: false, backpropAgain: false, lastBackprop: 0, shownError: null,
  hover: null, cursor: [0, 0], codeEpoch: -1, lastCode: 0,
};

// -- URL state ----------------------------------------------------------------------------
function settingsFromHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const out = {};
  for (const [name, value] of params) {
    const key = LIMITS.aliases[name] || name;  // links made before the names followed the config
    if (!LIMITS.fields.includes(key)) continue;
    if (key === "hidden") out[key] = value ? value.split(",").map(Number) : [];
    else if (Array.isArray(state.defaults[key])) out[key] = value ? value.split(",") : [];
    else if (typeof state.defaults[key] === "number") out[key] = Number(value);
    else out[key] = value;
  }
  return out;
}

function writeHash(settings) {
  const params = new URLSearchParams();
  for (const key of LIMITS.fields) {
    const v = settings[key];
    params.set(key, Array.isArray(v) ? v.join(",") : String(v));
  }
  history.replaceState(null, "", "#" + params.toString());
}

// -- session and stream ------------------------------------------------------------------
async function startSession(settings) {
  let snap;
  try {
    snap = await NN.api("/api/playground", { settings });
  } catch (err) {
    if (err.status === 400 && Object.keys(settings).length) {
      NN.banner($("banner"), `The link's settings were not accepted (${err.message}); using the defaults.`);
      snap = await NN.api("/api/playground", { settings: {} });
    } else {
      NN.banner($("banner"), err.message);
      return;
    }
  }
  state.session = snap.session;
  state.history = [];
  render(snap);
  openStream();
}

function openStream() {
  if (state.source) state.source.close();
  const source = new EventSource(`/api/playground/${state.session}/stream`);
  state.source = source;
  source.onmessage = (event) => render(JSON.parse(event.data));
  source.onerror = async () => {
    if (source !== state.source) return;
    try {
      await NN.api(`/api/playground/${state.session}`);
    } catch (err) {
      if (err.status === 404) {  // freed while idle: start again with the same settings
        source.close();
        NN.banner($("banner"), "The server had freed this idle session; started a new one.", "info");
        startSession(state.settings);
      }
    }
  };
}

async function send(path, body) {
  try {
    return await NN.api(`/api/playground/${state.session}/${path}`, body);
  } catch (err) {
    NN.banner($("banner"), err.message);
    throw err;
  }
}

async function changeSettings(changes) {
  const result = await send("settings", changes);
  NN.banner($("banner"), "");
  state.settings = result.settings;
  writeHash(state.settings);
  syncControls();
  refreshCode();
}

// -- drawing ------------------------------------------------------------------------------
function render(snap) {
  state.snap = snap;
  if (snap.settings) {
    const changed = JSON.stringify(snap.settings) !== JSON.stringify(state.settings);
    state.settings = snap.settings;
    if (changed) { writeHash(state.settings); syncControls(); refreshCode(); }
  }
  if (snap.points) state.points = snap.points;
  if (snap.feature_maps) state.featureMaps = snap.feature_maps;
  if (snap.history_start === 0) state.history = snap.history.slice();
  else state.history.push(...snap.history);
  $("epoch").textContent = snap.epoch.toLocaleString("en-US");
  $("trainLoss").textContent = NN.fmt(snap.train_loss);
  $("testLoss").textContent = NN.fmt(snap.test_loss);
  const regression = state.settings.problem === "regression";  // R² replaces accuracy
  const score = (a, r2) => regression ? NN.fmt(r2) : a === null ? "–" : (100 * a).toFixed(1) + "%";
  $("trainAccLabel").textContent = regression ? "Training R²" : "Training accuracy";
  $("testAccLabel").textContent = regression ? "Test R²" : "Test accuracy";
  $("trainAcc").textContent = score(snap.train_accuracy, snap.train_r2);
  $("testAcc").textContent = score(snap.test_accuracy, snap.test_r2);
  $("playIcon").innerHTML = snap.playing ? '<path d="M7 5h4v14H7zM13 5h4v14h-4z"/>' : '<path d="M8 5v14l11-7z"/>';
  $("play").dataset.playing = snap.playing ? "1" : "0";
  $("play").setAttribute("aria-label", snap.playing ? "pause" : "play");
  if (snap.error && snap.error !== state.shownError) NN.banner($("banner"), snap.error);
  else if (!snap.error && state.shownError) NN.banner($("banner"), "");
  state.shownError = snap.error;
  if (snap.uploaded !== undefined) showUploaded(snap.uploaded);
  drawNetwork(snap);
  drawBoundary(snap);
  drawLoss();
  if (state.selected) scheduleBackprop();
  if (snap.epoch !== state.codeEpoch) followCode(snap);
}

/** The code panel follows the page: at once when paused, at most once a second while playing. */
function followCode(snap) {
  const now = performance.now();
  if (!snap.playing || now - state.lastCode > 1000) { state.codeEpoch = snap.epoch; state.lastCode = now; refreshCode(); }
}

function showUploaded(count) {
  state.uploaded = count;
  const note = $("uploadedNote");
  note.hidden = count === null;
  note.textContent = count === null ? "" : `Your CSV file: ${count} points. Noise and points do not apply to it; ` +
    "choose a data set above to leave it.";
  for (const id of ["noise", "n_points"]) $(id).disabled = count !== null;
  for (const b of document.querySelectorAll(".dataset")) b.classList.toggle("on", count === null && b.dataset.name === state.settings.dataset);
}

function drawLoss() {
  const h = state.history;
  NN.lineChart($("lossChart"), {
    series: [
      { label: "training", color: "#5b6475", points: h.map((r) => [r[0], r[1]]) },
      { label: "test", color: "#3d6fd8", points: h.map((r) => [r[0], r[2]]) },
    ], yMin: 0, xInteger: true, xLabel: "epoch", yLabel: "loss", empty: "press play to train",
  });
}

const offscreen = document.createElement("canvas");

function toCanvas(x, y, w, h) { return [(x + 6) / 12 * w, (6 - y) / 12 * h]; }

// Class colours: 0 orange and 1 blue (as the diverging scale's ends), then green, purple, red.
const CLASS_RGB = [[240, 138, 36], [47, 127, 193], [47, 158, 106], [136, 84, 208], [214, 51, 108]];
const CLASS_NAMES = ["orange", "blue", "green", "purple", "red"];

function classColor(label) { return `rgb(${CLASS_RGB[Math.round(label)].join(",")})`; }

function pointColor(label) {
  return state.settings.problem === "classification" ? classColor(label) : NN.color(label);
}

function outputs() {
  const s = state.settings;
  return s.problem === "classification" && s.classes > 2 ? s.classes : 1;
}

/** A softmax output as a class map: each pixel the colour of its likeliest class, paler where
 * that class's probability p is near 1/K (t = (p − 1/K)/(1 − 1/K)). */
function drawClassMap(canvas, classesB64, confidenceB64, res, k, discrete) {
  const classes = Uint8Array.from(atob(classesB64), (c) => c.charCodeAt(0));
  const confidence = Uint8Array.from(atob(confidenceB64), (c) => c.charCodeAt(0));
  if (canvas.width !== res) { canvas.width = res; canvas.height = res; }
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(res, res);
  for (let i = 0; i < res * res; i++) {
    const p = confidence[i] / 255, rgb = CLASS_RGB[classes[i]];
    const t = discrete ? 0.7 : Math.max(0, Math.min(1, (p - 1 / k) / (1 - 1 / k))) * 0.85;
    for (let c = 0; c < 3; c++) img.data[4 * i + c] = 250 + (rgb[c] - 250) * t;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function drawBoundary(snap) {
  const canvas = $("boundary");
  const { ctx, w, h } = NN.fit(canvas);
  const hover = state.hover && snap.neurons[state.hover.layer] && snap.neurons[state.hover.layer][state.hover.unit];
  if (hover) NN.drawMap(offscreen, hover, snap.neuron_resolution, false);  // a hovered neuron's output
  else if (snap.boundary_classes) {
    drawClassMap(offscreen, snap.boundary_classes, snap.boundary, snap.boundary_resolution, outputs(), $("discrete").checked);
  } else NN.drawMap(offscreen, snap.boundary, snap.boundary_resolution, $("discrete").checked);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(offscreen, 0, 0, w, h);
  const regression = state.settings.problem === "regression";  // pale targets need a dark ring
  const sets = [["train", regression ? "rgba(29,36,51,.4)" : "#ffffff"]];
  if ($("showTest").checked) sets.push(["test", "#1d2433"]);
  for (const [split, ring] of sets) {
    state.points[split].forEach(([x, y, label], i) => {
      const [px, py] = toCanvas(x, y, w, h);
      ctx.beginPath();
      if (split === "test") ctx.rect(px - 4, py - 4, 8, 8);  // test points: dark-edged squares
      else ctx.arc(px, py, 3.6, 0, 7);
      ctx.fillStyle = pointColor(label); ctx.fill();
      ctx.lineWidth = split === "test" ? 1.8 : 1; ctx.strokeStyle = ring; ctx.stroke();
    });
  }
  if (document.activeElement === canvas) {  // the keyboard cursor
    const [cx, cy] = toCanvas(state.cursor[0], state.cursor[1], w, h);
    ctx.strokeStyle = "#111827"; ctx.lineWidth = 1.5;
    ctx.beginPath(); ctx.moveTo(cx - 9, cy); ctx.lineTo(cx + 9, cy); ctx.moveTo(cx, cy - 9); ctx.lineTo(cx, cy + 9); ctx.stroke();
  }
  const pick = state.inspect, list = state.points[pick.split];
  if (state.selected && list && list[pick.index]) {
    const [px, py] = toCanvas(list[pick.index][0], list[pick.index][1], w, h);
    ctx.beginPath(); ctx.arc(px, py, 8, 0, 7); ctx.lineWidth = 2.5; ctx.strokeStyle = "#111827"; ctx.stroke();
  }
  ctx.fillStyle = "rgba(29,36,51,.55)"; ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "left"; ctx.fillText("−6", 4, h - 5);
  ctx.textAlign = "right"; ctx.fillText("6", w - 4, h - 5);
  ctx.fillText("x₁ →", w - 4, h / 2 + 4);
  ctx.textAlign = "left"; ctx.fillText("6", 4, 12); ctx.fillText("↑ x₂", w / 2 - 8, 12);
  const classification = state.settings.problem === "classification";
  const k = outputs();
  $("lowLabel").textContent = classification ? "0" : NN.minus((-snap.boundary_scale).toFixed(1));
  $("highLabel").textContent = classification ? "1" : snap.boundary_scale.toFixed(1);
  for (const id of ["lowLabel", "highLabel"]) $(id).hidden = k > 1;
  document.querySelector(".colorbar").hidden = k > 1;
  $("classKey").innerHTML = k > 1 ? [...Array(k).keys()].map((c) =>
    `<span><span class="swatch" style="background:${classColor(c)}"></span>class ${c}</span>`).join(" ") : "";
  const shown = hover ? `neuron ${state.hover.unit + 1} of layer ${state.hover.layer + 1}` : "the network's output";
  const text = `${shown} over the square [−6, 6]²; ${state.points.train.length} training and ` +
    `${state.points.test.length} test points` + (snap.train_accuracy === null || snap.train_accuracy === undefined ? "" :
    `; ${(100 * snap.train_accuracy).toFixed(1)}% of the training points on the right side`);
  canvas.setAttribute("aria-label", text);
  $("boundaryText").textContent = hover ? `Showing ${shown}; move the pointer off it to see the output again.` : "";
}

// -- the network diagram ------------------------------------------------------------------
let NODE = 42, ROW = 54;
const TOP = 78;
const SHORT = { tanh: "tanh", relu: "ReLU", sigmoid: "σ", linear: "lin" };

/** Columns spread over the box's width; on a narrow box (a phone) smaller nodes and labels. */
function layout() {
  const net = $("network"), width = net.clientWidth;
  const allFeatures = Object.keys(state.features);
  const hidden = state.settings.hidden;
  const columns = [allFeatures.length, ...hidden, outputs()];
  const narrow = width < 560;
  NODE = narrow ? 30 : 42; ROW = narrow ? 40 : 54;
  net.classList.toggle("narrow", narrow);
  const left = narrow ? 56 : 86, right = narrow ? 22 : 40;
  const xs = columns.map((_, i) => left + i * (width - left - right) / (columns.length - 1));
  const rows = Math.max(...columns);
  net.style.height = (TOP + rows * ROW) + "px";
  return { xs, columns, allFeatures, hidden, narrow };
}

function drawNetwork(snap) {
  const net = $("network");
  const s = state.settings;
  const shape = JSON.stringify([s.features, s.hidden, s.activation, s.activations, outputs(), net.clientWidth,
    Object.keys(state.features)]);
  if (shape !== state.shape) buildNetwork(), state.shape = shape;
  const { allFeatures } = state.geometry;
  for (const name of allFeatures) {
    const canvas = net.querySelector(`.node.feature[data-name="${name}"] canvas`);
    if (state.featureMaps[name] && !canvas.dataset.drawn) {
      NN.drawMap(canvas, state.featureMaps[name], snap.neuron_resolution); canvas.dataset.drawn = "1";
    }
  }
  snap.neurons.forEach((layer, l) => layer.forEach((b64, j) => {
    const node = net.querySelector(`.node[data-layer="${l}"][data-unit="${j}"]`);
    if (!node) return;
    NN.drawMap(node.querySelector("canvas"), b64, snap.neuron_resolution, $("discrete").checked && l === snap.neurons.length - 1);
    const dead = !!(snap.dead && snap.dead[l] && snap.dead[l][j]);
    node.classList.toggle("dead", dead);
    node.setAttribute("aria-label", nodeName(l, j) + (dead ? " (dead: constant over the data)" : "") + "; Enter shows its backprop");
  }));
  snap.weights.forEach((layer, l) => layer.W.forEach((row, k) => row.forEach((w, j) => {
    const path = state.links[`${l}:${k}:${j}`];
    if (!path) return;
    path.setAttribute("stroke", NN.color(Math.max(-1, Math.min(1, w))));
    path.setAttribute("stroke-width", (0.6 + Math.min(6, Math.abs(w) * 2.2)).toFixed(2));
    path.firstChild.textContent = `w = ${NN.minus(w.toFixed(4))}`;
  })));
}

function buildNetwork() {
  const net = $("network");
  net.innerHTML = "";
  const g = layout();
  state.geometry = g;
  const s = state.settings;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "links");
  net.appendChild(svg);
  state.links = {};
  // Column 0: all features; active ones are the network's inputs, in this order.
  const active = g.allFeatures.filter((f) => s.features.includes(f));
  const positions = [active.map((f) => g.allFeatures.indexOf(f))];
  g.hidden.forEach((n) => positions.push([...Array(n).keys()]));
  positions.push([...Array(outputs()).keys()]);
  const y = (row) => TOP + row * ROW + NODE / 2;
  for (let l = 0; l + 1 < positions.length; l++) {
    positions[l].forEach((rowIn, k) => positions[l + 1].forEach((rowOut, j) => {
      const x1 = g.xs[l] + NODE / 2, x2 = g.xs[l + 1] - NODE / 2, y1 = y(rowIn), y2 = y(rowOut);
      const mid = (x1 + x2) / 2;
      const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
      path.setAttribute("d", `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`);
      path.setAttribute("fill", "none");
      path.appendChild(document.createElementNS("http://www.w3.org/2000/svg", "title"));
      path.addEventListener("click", () => askWeight(l, k, j));
      svg.appendChild(path);
      state.links[`${l}:${k}:${j}`] = path;
    }));
  }
  g.allFeatures.forEach((name, row) => {
    const on = s.features.includes(name);
    const node = makeNode(g.xs[0], y(row), `feature ${on ? "" : "off"}`);
    node.dataset.name = name;
    node.title = `${state.features[name]}: click to ${on ? "remove" : "add"} this input`;
    node.setAttribute("aria-pressed", on ? "true" : "false");
    node.setAttribute("aria-label", `input feature ${state.features[name]}`);
    node.addEventListener("click", () => toggleFeature(name));
    const label = document.createElement("div");
    label.className = "node-label"; label.textContent = state.features[name];
    label.style.left = (g.xs[0] - NODE / 2) + "px"; label.style.top = y(row) + "px";
    net.appendChild(label);
  });
  const layers = [...g.hidden, outputs()];
  layers.forEach((n, l) => {
    for (let j = 0; j < n; j++) {
      const node = makeNode(g.xs[l + 1], y(j), l === layers.length - 1 ? "output" : "");
      node.dataset.layer = l; node.dataset.unit = j;
      node.title = `${nodeName(l, j)}: click for its backprop; hover to show it in the big plot`;
      node.setAttribute("aria-label", nodeName(l, j));
      if (state.selected && state.selected.layer === l && state.selected.unit === j) node.classList.add("selected");
      node.addEventListener("click", () => selectNeuron(l, j));
      const show = (on) => () => { state.hover = on ? { layer: l, unit: j } : null; if (state.snap) drawBoundary(state.snap); };
      node.addEventListener("mouseenter", show(true)); node.addEventListener("mouseleave", show(false));
      node.addEventListener("focus", () => node.matches(":focus-visible") && show(true)());  // keyboard focus only
      node.addEventListener("blur", show(false));
    }
  });
  g.hidden.forEach((n, l) => {
    const head = document.createElement("div");
    head.className = "layer-head";
    head.style.left = g.xs[l + 1] + "px";
    head.innerHTML = `<div class="btns"><button class="tiny" data-act="add" title="add a neuron" aria-label="add a neuron to hidden layer ${l + 1}">+</button>` +
      `<button class="tiny" data-act="remove" title="remove a neuron" aria-label="remove a neuron from hidden layer ${l + 1}">−</button></div>` +
      (g.narrow ? `${n}` : `${n} neuron${n > 1 ? "s" : ""}`) +
      `<select class="layer-act" aria-label="activation of hidden layer ${l + 1}" title="this layer's activation">` +
      Object.keys(LIMITS.activations).map((a) => `<option value="${a}"${a === layerActivation(l) ? " selected" : ""}>${SHORT[a] || a}</option>`).join("") +
      "</select>";
    head.querySelector('[data-act="add"]').addEventListener("click", () => changeNeurons(l, +1));
    head.querySelector('[data-act="remove"]').addEventListener("click", () => changeNeurons(l, -1));
    head.querySelector("select.layer-act").addEventListener("change", (e) => {
      const names = state.settings.hidden.map((_, i) => layerActivation(i));
      names[l] = e.target.value;
      changeSettings({ activations: names }).catch(() => syncControls());
    });
    net.appendChild(head);
  });
  const outHead = document.createElement("div");
  outHead.className = "layer-head"; outHead.style.left = g.xs[g.xs.length - 1] + "px";
  outHead.style.top = "44px"; outHead.textContent = "output";
  net.appendChild(outHead);
  const inHead = document.createElement("div");
  inHead.className = "layer-head"; inHead.style.left = (g.xs[0] - 10) + "px";
  inHead.style.top = "44px"; inHead.textContent = g.narrow ? "inputs" : "features";
  net.appendChild(inHead);
  $("layerCount").textContent = `${g.hidden.length} hidden layer${g.hidden.length === 1 ? "" : "s"}`;
}

function layerActivation(l) {
  const s = state.settings;
  return s.activations && s.activations.length ? s.activations[l] : s.activation;
}

function nodeName(layer, unit) {
  if (layer < state.settings.hidden.length) return `neuron ${unit + 1} of hidden layer ${layer + 1}`;
  return outputs() > 1 ? `output neuron ${unit + 1} (p of class ${unit})` : "the output neuron";
}

/** A node of the diagram: a heat map in a focusable button (Enter and Space click it). */
function makeNode(x, y, extra) {
  const node = document.createElement("div");
  node.className = "node " + (extra || "");
  node.setAttribute("role", "button"); node.tabIndex = 0;
  node.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); node.click(); } });
  node.style.left = x + "px"; node.style.top = y + "px";
  node.style.width = node.style.height = NODE + "px";
  node.appendChild(document.createElement("canvas"));
  $("network").appendChild(node);
  return node;
}

/** A click on a link: ask for the weight's new value (the backprop panel's w cells do the same). */
function askWeight(layer, k, j) {
  const now = state.snap.weights[layer].W[k][j];
  const text = prompt(`New value of this weight (now ${now.toFixed(4)}):`, now.toFixed(4));
  if (text === null) return;
  const value = Number(text.replace("−", "-"));
  if (!Number.isFinite(value)) { NN.banner($("banner"), `${text} is not a number.`); return; }
  setWeight(layer, k, j, value);
}

function setWeight(layer, k, j, value) {
  return send("weight", { layer, from: k, to: j, value }).then(refreshCode).catch(() => {});
}

function toggleFeature(name) {
  const features = state.settings.features.includes(name)
    ? state.settings.features.filter((f) => f !== name) : [...state.settings.features, name];
  if (!features.length) { NN.banner($("banner"), "The network needs at least one input feature.", "info"); return; }
  state.selected = null;
  changeSettings({ features });
}

function changeNeurons(layer, delta) {
  const hidden = state.settings.hidden.slice();
  hidden[layer] = Math.max(1, Math.min(LIMITS.max_neurons, hidden[layer] + delta));
  state.selected = null;
  changeSettings({ hidden });
}

function changeLayers(delta) {
  const hidden = state.settings.hidden.slice();
  if (delta > 0 && hidden.length < LIMITS.max_layers) hidden.push(2);
  if (delta < 0 && hidden.length) hidden.pop();
  state.selected = null;
  changeSettings({ hidden });
}

// -- backprop panel -----------------------------------------------------------------------
function selectNeuron(layer, unit) {
  state.selected = { layer, unit };
  for (const n of document.querySelectorAll(".node.selected")) n.classList.remove("selected");
  const node = document.querySelector(`.node[data-layer="${layer}"][data-unit="${unit}"]`);
  if (node) node.classList.add("selected");
  if (!state.points[state.inspect.split][state.inspect.index]) state.inspect = { split: "train", index: 0 };
  scheduleBackprop(true);
  if (state.snap) drawBoundary(state.snap);
}

function scheduleBackprop(now) {
  if (state.backpropBusy) { state.backpropAgain = true; return; }
  const wait = now ? 0 : Math.max(0, 250 - (performance.now() - state.lastBackprop));
  state.backpropBusy = true;
  setTimeout(async () => {
    try {
      const data = await NN.api(`/api/playground/${state.session}/backprop`, state.inspect);
      renderBackprop(data);
    } catch (err) {
      $("backprop").textContent = err.message;
    } finally {
      state.lastBackprop = performance.now();
      state.backpropBusy = false;
      if (state.backpropAgain) { state.backpropAgain = false; scheduleBackprop(); }
    }
  }, wait);
}

const ACT = { tanh: "tanh", relu: "ReLU", sigmoid: "σ", linear: "id" };
/** Four decimals, or three significant digits in scientific notation for small values. */
const f4 = (v) => {
  const a = Math.abs(v), text = a !== 0 && a < 1e-3 ? Number(v).toExponential(2) : Number(v).toFixed(4);
  return (v >= 0 ? "\u2007" : "") + NN.minus(text);
};

function renderBackprop(data) {
  const sel = state.selected;
  if (document.activeElement && document.activeElement.classList.contains("wedit")) return;  // being edited
  if (!sel || sel.layer >= data.layers.length) { $("backprop").textContent = "Click a neuron."; return; }
  const L = data.layers.length, l = sel.layer, j = sel.unit, layer = data.layers[l];
  if (j >= layer.z.length) return;
  const out = l === L - 1;
  const name = nodeName(l, j);
  const f = ACT[layer.activation] || layer.activation;
  const inputs = l === 0 ? data.input : data.layers[l - 1].a;
  const inputName = (k) => l === 0 ? state.features[data.features[k]] : `a<sup>${l}</sup><sub>${k + 1}</sub>`;
  const sup = l + 1;
  let rows = "";
  rows += `<tr><td><span class="tag">forward</span></td><td class="eq">z<sup>${sup}</sup><sub>j</sub> = Σ<sub>k</sub> w<sub>jk</sub> a<sub>k</sub> + b<sub>j</sub></td><td class="num">${f4(layer.z[j])}</td></tr>`;
  rows += `<tr><td></td><td class="eq">a<sup>${sup}</sup><sub>j</sub> = ${f}(z<sub>j</sub>)</td><td class="num">${f4(layer.a[j])}</td></tr>`;
  const y = (c) => (Math.round(data.target) === c ? 1 : 0);
  if (out && layer.activation === "softmax" && data.cost_name === "log_likelihood") {
    rows += `<tr><td><span class="tag">BP1</span></td><td class="eq">δ<sup>L</sup><sub>j</sub> = a<sub>j</sub> − y<sub>j</sub> (softmax with log-likelihood) = ${f4(layer.a[j])} − ${y(j)}</td><td class="num">${f4(layer.delta[j])}</td></tr>`;
  } else if (out && layer.activation === "softmax") {
    rows += `<tr><td><span class="tag">BP1</span></td><td class="eq">δ<sup>L</sup><sub>j</sub> = a<sub>j</sub>(∂C/∂a<sub>j</sub> − Σ<sub>k</sub> a<sub>k</sub> ∂C/∂a<sub>k</sub>) (softmax's Jacobian)</td><td class="num">${f4(layer.delta[j])}</td></tr>`;
  } else if (out) {
    rows += `<tr><td><span class="tag">BP1</span></td><td class="eq">δ<sup>L</sup> = ∂C/∂a · ${f}′(z) = ${f4(layer.cost_gradient[j])} × ${f4(layer.fprime[j])}</td><td class="num">${f4(layer.delta[j])}</td></tr>`;
  } else {
    rows += `<tr><td><span class="tag">BP2</span></td><td class="eq">δ<sup>${sup}</sup><sub>j</sub> = (Σ<sub>k</sub> w<sup>${sup + 1}</sup><sub>kj</sub> δ<sup>${sup + 1}</sup><sub>k</sub>) · ${f}′(z<sub>j</sub>) = ${f4(layer.backprop_sum[j])} × ${f4(layer.fprime[j])}</td><td class="num">${f4(layer.delta[j])}</td></tr>`;
  }
  rows += `<tr><td><span class="tag">BP3</span></td><td class="eq">∂C/∂b<sub>j</sub> = δ<sub>j</sub></td><td class="num">${f4(layer.db[j])}</td></tr>`;
  let links = "";
  inputs.forEach((a, k) => {
    const w = `<input type="number" step="0.1" class="wedit" data-k="${k}" value="${+layer.W[k][j].toFixed(6)}"
      aria-label="weight from ${inputName(k).replace(/<[^>]+>/g, "")} to ${name}; Enter sets it">`;
    links += `<tr><td class="eq">${inputName(k)}</td><td class="num">${f4(a)}</td><td class="num">${w}</td>` +
      `<td class="num">${f4(a)} × ${f4(layer.delta[j])}</td><td class="num">${f4(layer.dW[k][j])}</td></tr>`;
  });
  const [px, py] = data.point;
  const dead = state.snap && state.snap.dead && state.snap.dead[l] && state.snap.dead[l][j];
  const deadNote = dead ? `<p class="small dead-note"><b>A dead unit:</b> its output is the same for every training
    point (${layer.activation === "relu" ? "a ReLU whose z ≤ 0 everywhere outputs 0" : "saturated: z so large that " + f + " is flat"}),
    so f′(z) ≈ 0, δ ≈ 0 (BP2) and ∂C/∂w = a δ ≈ 0 (BP4): its incoming weights no longer learn, and it passes the
    next layer only a constant.</p>` : "";
  $("backprop").innerHTML =
    `<div class="row small" style="margin-bottom:8px;align-items:baseline;flex-wrap:wrap">
       <b style="font-size:14px">${name}</b>
       <span class="muted">for ${data.split} point #${data.index} at (${px.toFixed(2)}, ${py.toFixed(2)}), target y = ${data.target.toFixed(2)},
       output a<sup>L</sup>${data.layers[L - 1].a.length > 1 ? `<sub>${(sel.layer === L - 1 ? j : 0) + 1}</sub>` : ""} = ${NN.minus(data.layers[L - 1].a[sel.layer === L - 1 ? j : 0].toFixed(4))}, cost C<sub>x</sub> = ${data.cost.toFixed(5)} (${data.cost_name.replace("_", "-")})</span></div>${deadNote}
     <table class="bp"><tbody>${rows}</tbody></table>
     <h3 style="margin-top:12px">Incoming links <span class="tag">BP4</span><span class="eq muted">∂C/∂w<sub>jk</sub> = a<sub>k</sub> δ<sub>j</sub></span></h3>
     <table class="bp"><thead><tr><th>from</th><th>a<sub>k</sub></th><th>w<sub>jk</sub></th><th>a<sub>k</sub> × δ<sub>j</sub></th><th>∂C/∂w<sub>jk</sub></th></tr></thead><tbody>${links}</tbody></table>
     <p class="small muted" style="margin:8px 0 0">One point's gradients (no regularisation term), from nnlearn's
       <code>forward</code> and <code>backward</code> on this point: δ is read from ∂C/∂b (BP3), ∂C/∂w from the Dense layer's
       gradient. Choose another point with “inspect” and a click on the output plot. Set a weight in the
       w column (or click its link in the diagram).</p>`;
  for (const input of $("backprop").querySelectorAll("input.wedit")) {
    input.addEventListener("change", () => {
      const value = Number(input.value);
      if (Number.isFinite(value)) setWeight(l, Number(input.dataset.k), j, value).then(() => input.blur());
    });
  }
}

// -- code panel ---------------------------------------------------------------------------
let codeTimer = null;
function refreshCode() {
  clearTimeout(codeTimer);
  codeTimer = setTimeout(async () => {
    if (!state.session) return;
    try {
      const code = await NN.api(`/api/playground/${state.session}/code`);
      $("code").textContent = code[state.codeTab];
      state.codeFor = code.epoch;  // the epoch the shown code ends at
    } catch (err) { $("code").textContent = err.message; }
  }, 150);
}

// -- controls -----------------------------------------------------------------------------
function setSelectValue(select, value) {
  const text = String(value);
  if (![...select.options].some((o) => o.value === text)) {
    const option = document.createElement("option"); option.textContent = text; select.appendChild(option);
  }
  select.value = text;
}

/** "+ class" buttons for each class (or +1/−1 targets for regression), then "inspect". */
function clickButtons() {
  const s = state.settings, k = s.problem === "classification" ? s.classes : 2;
  const key = `${s.problem}:${k}`, box = $("clickMode");
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  const order = k === 2 ? [1, 0] : [...Array(k).keys()];
  const what = (c) => s.problem === "regression" ? `target ${c ? "+1" : "−1"}` : `class ${c}`;
  box.innerHTML = order.map((c) => `<button data-mode="${c}" title="add a point of ${what(c)} (${CLASS_NAMES[c]})">+ ${CLASS_NAMES[c]}</button>`).join("") +
    '<button data-mode="inspect" title="choose the point whose backprop is shown">inspect</button>';
  if (state.clickMode !== "inspect" && Number(state.clickMode) >= k) state.clickMode = String(order[0]);
  for (const b of box.querySelectorAll("button")) b.classList.toggle("on", b.dataset.mode === state.clickMode);
}

function syncControls() {
  const s = state.settings;
  clickButtons();
  $("classes").disabled = s.problem !== "classification" || s.dataset !== "custom" || !!state.uploaded;
  for (const id of ["eta", "activation", "optimizer", "cost", "weight_init", "regularization", "lmbda", "problem", "classes",
    "dropout", "schedule"]) {
    setSelectValue($(id), s[id]);
  }
  $("seed").value = s.seed;
  for (const id of ["train_ratio", "noise", "n_points", "mini_batch_size"]) {
    $(id).value = s[id];
    $(id + "_v").textContent = id === "train_ratio" ? `${s[id]} %` : id === "noise" ? `${s[id]} %` : s[id];
  }
  $("cost").querySelector('[value="cross_entropy"]').disabled = s.problem === "regression";
  for (const b of document.querySelectorAll(".dataset")) {
    b.classList.toggle("on", !state.uploaded && b.dataset.name === s.dataset);
    b.setAttribute("aria-pressed", b.classList.contains("on") ? "true" : "false");
    b.style.display = state.datasets[b.dataset.name].problem === s.problem ? "" : "none";
  }
}

function controlValue(el) {
  if (el.dataset.kind === "int") return parseInt(el.value, 10);
  if (el.dataset.kind === "number") return parseFloat(el.value);
  return el.value;
}

function wireControls() {
  for (const id of ["eta", "activation", "optimizer", "cost", "weight_init", "regularization", "lmbda", "seed",
    "train_ratio", "noise", "n_points", "mini_batch_size", "classes", "dropout", "schedule"]) {
    $(id).addEventListener("change", () => changeSettings({ [id]: controlValue($(id)) }).catch(() => syncControls()));
    if ($(id).type === "range") {
      $(id).addEventListener("input", () => { $(id + "_v").textContent = $(id).value + (["train_ratio", "noise"].includes(id) ? " %" : ""); });
    }
  }
  $("problem").addEventListener("change", () => {
    const problem = $("problem").value;
    const dataset = Object.keys(state.datasets).find((d) => state.datasets[d].problem === problem);
    const changes = { dataset, problem };
    if (problem === "regression") changes.cost = "quadratic";
    state.selected = null;
    changeSettings(changes).catch(() => syncControls());
  });
  $("play").addEventListener("click", () => send("control", { action: $("play").dataset.playing === "1" ? "pause" : "play" }).then(refreshCode));
  $("step").addEventListener("click", () => send("control", { action: "step" }).then(refreshCode));
  $("reset").addEventListener("click", () => { NN.banner($("banner"), ""); state.shownError = null; send("control", { action: "reset" }).then(refreshCode); });
  $("regenerate").addEventListener("click", async () => {
    await send("control", { action: "regenerate" });
    state.settings.data_seed += 1; writeHash(state.settings); refreshCode();
  });
  $("addLayer").addEventListener("click", () => changeLayers(+1));
  $("removeLayer").addEventListener("click", () => changeLayers(-1));
  $("showTest").addEventListener("change", () => state.snap && drawBoundary(state.snap));
  $("discrete").addEventListener("change", () => state.snap && (drawBoundary(state.snap), drawNetwork(state.snap)));
  $("clickMode").addEventListener("click", (event) => {
    const b = event.target.closest("button");
    if (!b) return;
    state.clickMode = b.dataset.mode;
    for (const o of document.querySelectorAll("#clickMode button")) o.classList.toggle("on", o === b);
  });
  for (const b of document.querySelectorAll("#codeTabs button")) {
    b.addEventListener("click", () => {
      state.codeTab = b.dataset.code;
      for (const o of document.querySelectorAll("#codeTabs button")) o.classList.toggle("on", o === b);
      refreshCode();
    });
  }
  $("copyLink").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(location.href); NN.banner($("banner"), "Link copied: it reproduces this experiment.", "info"); }
    catch (e) { NN.banner($("banner"), "Copy this page's address: it holds every setting.", "info"); }
  });
  $("boundary").addEventListener("click", (event) => {
    const rect = $("boundary").getBoundingClientRect();
    onBoundaryAt(((event.clientX - rect.left) / rect.width) * 12 - 6, 6 - ((event.clientY - rect.top) / rect.height) * 12);
  });
  $("boundary").addEventListener("keydown", onBoundaryKey);
  for (const type of ["focus", "blur"]) $("boundary").addEventListener(type, () => state.snap && drawBoundary(state.snap));
  $("downloadModel").addEventListener("click", () => { $("downloadModel").href = `/api/playground/${state.session}/model.npz`; });
  $("csv").addEventListener("change", async () => {
    const file = $("csv").files[0];
    if (!file) return;
    const text = await file.text();
    try {
      await send("csv", { csv: text });
      NN.banner($("banner"), `Loaded ${file.name}.`, "info");
    } catch (e) { /* banner shown */ }
    $("csv").value = "";
  });
  window.addEventListener("resize", () => state.snap && render({ ...state.snap, history: [], history_start: state.history.length }));
  window.addEventListener("pagehide", () => {  // keepalive: the request outlives the page
    if (state.session) fetch(`/api/playground/${state.session}/close`, { method: "POST", keepalive: true,
      headers: { "Content-Type": "application/json" }, body: "{}" });
  });
}

/** The keyboard's way to the plot: arrows move a cursor, a class's digit adds a point, i inspects. */
function onBoundaryKey(event) {
  const moves = { ArrowLeft: [-0.5, 0], ArrowRight: [0.5, 0], ArrowUp: [0, 0.5], ArrowDown: [0, -0.5] };
  const [x, y] = state.cursor;
  if (moves[event.key]) {
    state.cursor = [Math.max(-6, Math.min(6, x + moves[event.key][0])), Math.max(-6, Math.min(6, y + moves[event.key][1]))];
  } else if (/^[0-9]$/.test(event.key) || event.key === "i") {
    const mode = state.clickMode;
    state.clickMode = event.key === "i" ? "inspect" : event.key;
    onBoundaryAt(x, y);
    state.clickMode = mode;
  } else return;
  event.preventDefault();
  NN.banner($("banner"), `cursor at (${NN.minus(state.cursor[0].toFixed(1))}, ${NN.minus(state.cursor[1].toFixed(1))})`, "info");
  if (state.snap) drawBoundary(state.snap);
}

function onBoundaryAt(x, y) {
  if (state.clickMode === "inspect") {
    let best = null;
    const splits = $("showTest").checked ? ["train", "test"] : ["train"];
    for (const split of splits) state.points[split].forEach(([px, py], index) => {
      const d = (px - x) ** 2 + (py - y) ** 2;
      if (!best || d < best.d) best = { d, split, index };
    });
    if (best) {
      state.inspect = { split: best.split, index: best.index };
      if (!state.selected) state.selected = { layer: state.settings.hidden.length, unit: 0 };
      selectNeuron(state.selected.layer, state.selected.unit);
    }
    return;
  }
  const regression = state.settings.problem === "regression";
  const label = regression ? (state.clickMode === "1" ? 1 : -1) : Number(state.clickMode);
  if (!regression && label >= state.settings.classes) return;
  send("points", { x: Math.max(-6, Math.min(6, x)), y: Math.max(-6, Math.min(6, y)), label }).catch(() => {});
}

async function drawDatasetButtons() {
  const info = await NN.api("/api/playground/datasets");
  state.datasets = info.datasets; state.features = info.features; state.defaults = info.defaults;
  LIMITS = info.limits;
  for (let k = 2; k <= LIMITS.max_classes; k++) $("classes").insertAdjacentHTML("beforeend", `<option>${k}</option>`);
  for (const p of LIMITS.dropouts) $("dropout").insertAdjacentHTML("beforeend", `<option>${p}</option>`);
  for (const select of document.querySelectorAll("select[data-choices]")) {
    for (const [value, label] of Object.entries(LIMITS[select.dataset.choices])) {
      const option = document.createElement("option"); option.value = value; option.textContent = label;
      select.appendChild(option);
    }
  }
  const box = $("datasets");
  for (const [name, d] of Object.entries(info.datasets)) {
    const b = document.createElement("button");
    b.className = "dataset"; b.dataset.name = name; b.title = `${name} (${d.problem})`;
    b.setAttribute("aria-label", `data set ${name} (${d.problem})`);
    const c = document.createElement("canvas");
    c.width = 116; c.height = 116;
    const ctx = c.getContext("2d");
    ctx.fillStyle = "#f6f8fb"; ctx.fillRect(0, 0, 116, 116);
    for (const [x, y, label] of d.points) {
      const [px, py] = toCanvas(x, y, 116, 116);
      ctx.beginPath(); ctx.arc(px, py, 2.6, 0, 7);
      ctx.fillStyle = d.problem === "classification" ? classColor(label) : NN.color(label);
      ctx.fill();
    }
    if (!d.points.length) {
      ctx.fillStyle = "#98a2b3"; ctx.font = "bold 44px system-ui"; ctx.textAlign = "center"; ctx.fillText("+", 58, 74);
    }
    b.appendChild(c);
    b.appendChild(document.createTextNode(name));
    b.addEventListener("click", () => { state.selected = null; changeSettings({ dataset: name }).catch(() => {}); });
    box.appendChild(b);
  }
}

(async function main() {
  wireControls();
  await drawDatasetButtons();
  await startSession(settingsFromHash());
})();
