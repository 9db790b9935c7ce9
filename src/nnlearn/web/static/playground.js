// The Playground page: controls, the network diagram, heat maps and the backprop panel.
// The network lives on the server (nnlearn); this page only sends settings and draws snapshots.
"use strict";

const $ = (id) => document.getElementById(id);
const FIELDS = ["dataset", "noise", "train_ratio", "n_points", "data_seed", "features", "hidden",
  "activation", "learning_rate", "batch_size", "optimizer", "cost", "init", "regularization",
  "reg_rate", "seed"];
const INT_FIELDS = new Set(["noise", "train_ratio", "n_points", "data_seed", "batch_size", "seed"]);
const NUM_FIELDS = new Set(["learning_rate", "reg_rate"]);
const MAX_LAYERS = 6, MAX_NEURONS = 8;

const state = {
  session: null, source: null, settings: null, defaults: null, features: {}, datasets: {},
  history: [], points: { train: [], test: [] }, snap: null, featureMaps: {},
  selected: null, inspect: { split: "train", index: 0 }, clickMode: "1", codeTab: "python",
  shape: "", backpropBusy: false, backpropAgain: false, lastBackprop: 0,
};

// -- URL state ----------------------------------------------------------------------------
function settingsFromHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const out = {};
  for (const [key, value] of params) {
    if (!FIELDS.includes(key)) continue;
    if (key === "features") out[key] = value ? value.split(",") : [];
    else if (key === "hidden") out[key] = value ? value.split(",").map(Number) : [];
    else if (INT_FIELDS.has(key) || NUM_FIELDS.has(key)) out[key] = Number(value);
    else out[key] = value;
  }
  return out;
}

function writeHash(settings) {
  const params = new URLSearchParams();
  for (const key of FIELDS) {
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
    const first = !state.settings;
    state.settings = snap.settings;
    if (first) { writeHash(state.settings); syncControls(); refreshCode(); }
  }
  if (snap.points) state.points = snap.points;
  if (snap.feature_maps) state.featureMaps = snap.feature_maps;
  if (snap.history_start === 0) state.history = snap.history.slice();
  else state.history.push(...snap.history);
  $("epoch").textContent = snap.epoch.toLocaleString("en-US");
  $("trainLoss").textContent = NN.fmt(snap.train_loss);
  $("testLoss").textContent = NN.fmt(snap.test_loss);
  $("trainAcc").textContent = snap.train_accuracy === null ? "–" : (100 * snap.train_accuracy).toFixed(1) + "%";
  $("testAcc").textContent = snap.test_accuracy === null ? "–" : (100 * snap.test_accuracy).toFixed(1) + "%";
  $("playIcon").innerHTML = snap.playing ? '<path d="M7 5h4v14H7zM13 5h4v14h-4z"/>' : '<path d="M8 5v14l11-7z"/>';
  $("play").dataset.playing = snap.playing ? "1" : "0";
  if (snap.error) NN.banner($("banner"), snap.error);
  drawNetwork(snap);
  drawBoundary(snap);
  drawLoss();
  if (state.selected) scheduleBackprop();
}

function drawLoss() {
  const h = state.history;
  NN.lineChart($("lossChart"), {
    series: [
      { label: "training", color: "#5b6475", points: h.map((r) => [r[0], r[1]]) },
      { label: "test", color: "#3d6fd8", points: h.map((r) => [r[0], r[2]]) },
    ], yMin: 0, empty: "press play to train",
  });
}

const offscreen = document.createElement("canvas");

function toCanvas(x, y, w, h) { return [(x + 6) / 12 * w, (6 - y) / 12 * h]; }

function pointColor(label) {
  if (state.settings.problem === "classification") return label > 0.5 ? "rgb(47,127,193)" : "rgb(240,138,36)";
  return NN.color(label);
}

function drawBoundary(snap) {
  const canvas = $("boundary");
  const { ctx, w, h } = NN.fit(canvas);
  NN.drawMap(offscreen, snap.boundary, snap.boundary_resolution, $("discrete").checked);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(offscreen, 0, 0, w, h);
  const regression = state.settings.problem === "regression";  // pale targets need a dark ring
  const sets = [["train", regression ? "rgba(29,36,51,.4)" : "#ffffff"]];
  if ($("showTest").checked) sets.push(["test", "#1d2433"]);
  for (const [split, ring] of sets) {
    state.points[split].forEach(([x, y, label], i) => {
      const [px, py] = toCanvas(x, y, w, h);
      ctx.beginPath(); ctx.arc(px, py, 3.6, 0, 7);
      ctx.fillStyle = pointColor(label); ctx.fill();
      ctx.lineWidth = 1; ctx.strokeStyle = ring; ctx.stroke();
    });
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
  $("lowLabel").textContent = classification ? "0" : (-snap.boundary_scale).toFixed(1);
  $("highLabel").textContent = classification ? "1" : snap.boundary_scale.toFixed(1);
}

// -- the network diagram ------------------------------------------------------------------
const NODE = 42, ROW = 54, TOP = 58;

function layout() {
  const net = $("network"), width = net.clientWidth;
  const allFeatures = Object.keys(state.features);
  const hidden = state.settings.hidden;
  const columns = [allFeatures.length, ...hidden, 1];
  const left = 86, right = 40;
  const xs = columns.map((_, i) => left + i * (width - left - right) / (columns.length - 1));
  const rows = Math.max(...columns);
  net.style.height = (TOP + rows * ROW) + "px";
  return { xs, columns, allFeatures, hidden };
}

function drawNetwork(snap) {
  const net = $("network");
  const s = state.settings;
  const shape = JSON.stringify([s.features, s.hidden, net.clientWidth, Object.keys(state.features)]);
  if (shape !== state.shape) buildNetwork(), state.shape = shape;
  const { allFeatures } = state.geometry;
  for (const name of allFeatures) {
    const canvas = net.querySelector(`.node.feature[data-name="${name}"] canvas`);
    if (state.featureMaps[name] && !canvas.dataset.drawn) {
      NN.drawMap(canvas, state.featureMaps[name], snap.neuron_resolution); canvas.dataset.drawn = "1";
    }
  }
  snap.neurons.forEach((layer, l) => layer.forEach((b64, j) => {
    const canvas = net.querySelector(`.node[data-layer="${l}"][data-unit="${j}"] canvas`);
    if (canvas) NN.drawMap(canvas, b64, snap.neuron_resolution, $("discrete").checked && l === snap.neurons.length - 1);
  }));
  snap.weights.forEach((layer, l) => layer.W.forEach((row, k) => row.forEach((w, j) => {
    const path = state.links[`${l}:${k}:${j}`];
    if (!path) return;
    path.setAttribute("stroke", NN.color(Math.max(-1, Math.min(1, w))));
    path.setAttribute("stroke-width", (0.6 + Math.min(6, Math.abs(w) * 2.2)).toFixed(2));
    path.firstChild.textContent = `w = ${w.toFixed(4)}`;
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
  positions.push([0]);
  const y = (row) => TOP + row * ROW + NODE / 2;
  for (let l = 0; l + 1 < positions.length; l++) {
    positions[l].forEach((rowIn, k) => positions[l + 1].forEach((rowOut, j) => {
      const x1 = g.xs[l] + NODE / 2, x2 = g.xs[l + 1] - NODE / 2, y1 = y(rowIn), y2 = y(rowOut);
      const mid = (x1 + x2) / 2;
      const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
      path.setAttribute("d", `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`);
      path.setAttribute("fill", "none");
      path.appendChild(document.createElementNS("http://www.w3.org/2000/svg", "title"));
      svg.appendChild(path);
      state.links[`${l}:${k}:${j}`] = path;
    }));
  }
  g.allFeatures.forEach((name, row) => {
    const node = makeNode(g.xs[0], y(row), `feature ${s.features.includes(name) ? "" : "off"}`);
    node.dataset.name = name;
    node.title = `${state.features[name]}: click to ${s.features.includes(name) ? "remove" : "add"} this input`;
    node.addEventListener("click", () => toggleFeature(name));
    const label = document.createElement("div");
    label.className = "node-label"; label.textContent = state.features[name];
    label.style.left = (g.xs[0] - NODE / 2) + "px"; label.style.top = y(row) + "px";
    net.appendChild(label);
  });
  const layers = [...g.hidden, 1];
  layers.forEach((n, l) => {
    for (let j = 0; j < n; j++) {
      const node = makeNode(g.xs[l + 1], y(j), l === layers.length - 1 ? "output" : "");
      node.dataset.layer = l; node.dataset.unit = j;
      node.title = l === layers.length - 1 ? "the output neuron: click for its backprop"
        : `neuron ${j + 1} of hidden layer ${l + 1}: click for its backprop`;
      if (state.selected && state.selected.layer === l && state.selected.unit === j) node.classList.add("selected");
      node.addEventListener("click", () => selectNeuron(l, j));
    }
  });
  g.hidden.forEach((n, l) => {
    const head = document.createElement("div");
    head.className = "layer-head";
    head.style.left = g.xs[l + 1] + "px";
    head.innerHTML = `<div class="btns"><button class="tiny" data-act="add" title="add a neuron">+</button>` +
      `<button class="tiny" data-act="remove" title="remove a neuron">−</button></div>${n} neuron${n > 1 ? "s" : ""}`;
    head.querySelector('[data-act="add"]').addEventListener("click", () => changeNeurons(l, +1));
    head.querySelector('[data-act="remove"]').addEventListener("click", () => changeNeurons(l, -1));
    net.appendChild(head);
  });
  const outHead = document.createElement("div");
  outHead.className = "layer-head"; outHead.style.left = g.xs[g.xs.length - 1] + "px";
  outHead.style.top = "26px"; outHead.textContent = "output";
  net.appendChild(outHead);
  const inHead = document.createElement("div");
  inHead.className = "layer-head"; inHead.style.left = (g.xs[0] - 10) + "px";
  inHead.style.top = "26px"; inHead.textContent = "features";
  net.appendChild(inHead);
  $("layerCount").textContent = `${g.hidden.length} hidden layer${g.hidden.length === 1 ? "" : "s"}`;
}

function makeNode(x, y, extra) {
  const node = document.createElement("div");
  node.className = "node " + (extra || "");
  node.style.left = x + "px"; node.style.top = y + "px";
  node.appendChild(document.createElement("canvas"));
  $("network").appendChild(node);
  return node;
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
  hidden[layer] = Math.max(1, Math.min(MAX_NEURONS, hidden[layer] + delta));
  state.selected = null;
  changeSettings({ hidden });
}

function changeLayers(delta) {
  const hidden = state.settings.hidden.slice();
  if (delta > 0 && hidden.length < MAX_LAYERS) hidden.push(2);
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
  return (v >= 0 ? "\u2007" : "") + text.replace("-", "−");
};

function renderBackprop(data) {
  const sel = state.selected;
  if (!sel || sel.layer >= data.layers.length) { $("backprop").textContent = "Click a neuron."; return; }
  const L = data.layers.length, l = sel.layer, j = sel.unit, layer = data.layers[l];
  if (j >= layer.z.length) return;
  const out = l === L - 1;
  const name = out ? "the output neuron" : `neuron ${j + 1} of hidden layer ${l + 1}`;
  const f = ACT[layer.activation] || layer.activation;
  const inputs = l === 0 ? data.input : data.layers[l - 1].a;
  const inputName = (k) => l === 0 ? state.features[data.features[k]] : `a<sup>${l}</sup><sub>${k + 1}</sub>`;
  const sup = l + 1;
  let rows = "";
  rows += `<tr><td><span class="tag">forward</span></td><td class="eq">z<sup>${sup}</sup><sub>j</sub> = Σ<sub>k</sub> w<sub>jk</sub> a<sub>k</sub> + b<sub>j</sub></td><td class="num">${f4(layer.z[j])}</td></tr>`;
  rows += `<tr><td></td><td class="eq">a<sup>${sup}</sup><sub>j</sub> = ${f}(z<sub>j</sub>)</td><td class="num">${f4(layer.a[j])}</td></tr>`;
  if (out) {
    rows += `<tr><td><span class="tag">BP1</span></td><td class="eq">δ<sup>L</sup> = ∂C/∂a · ${f}′(z) = ${f4(layer.cost_gradient[j])} × ${f4(layer.fprime[j])}</td><td class="num">${f4(layer.delta[j])}</td></tr>`;
  } else {
    rows += `<tr><td><span class="tag">BP2</span></td><td class="eq">δ<sup>${sup}</sup><sub>j</sub> = (Σ<sub>k</sub> w<sup>${sup + 1}</sup><sub>kj</sub> δ<sup>${sup + 1}</sup><sub>k</sub>) · ${f}′(z<sub>j</sub>) = ${f4(layer.backprop_sum[j])} × ${f4(layer.fprime[j])}</td><td class="num">${f4(layer.delta[j])}</td></tr>`;
  }
  rows += `<tr><td><span class="tag">BP3</span></td><td class="eq">∂C/∂b<sub>j</sub> = δ<sub>j</sub></td><td class="num">${f4(layer.db[j])}</td></tr>`;
  let links = "";
  inputs.forEach((a, k) => {
    links += `<tr><td class="eq">${inputName(k)}</td><td class="num">${f4(a)}</td><td class="num">${f4(layer.W[k][j])}</td>` +
      `<td class="num">${f4(a)} × ${f4(layer.delta[j])}</td><td class="num">${f4(layer.dW[k][j])}</td></tr>`;
  });
  const [px, py] = data.point;
  $("backprop").innerHTML =
    `<div class="row small" style="margin-bottom:8px;align-items:baseline;flex-wrap:wrap">
       <b style="font-size:14px">${name}</b>
       <span class="muted">for ${data.split} point #${data.index} at (${px.toFixed(2)}, ${py.toFixed(2)}), target y = ${data.target.toFixed(2)},
       output a<sup>L</sup> = ${data.layers[L - 1].a[0].toFixed(4)}, cost C<sub>x</sub> = ${data.cost.toFixed(5)} (${data.cost_name.replace("_", "-")})</span></div>
     <table class="bp"><tbody>${rows}</tbody></table>
     <h3 style="margin-top:12px">Incoming links <span class="tag">BP4</span><span class="eq muted">∂C/∂w<sub>jk</sub> = a<sub>k</sub> δ<sub>j</sub></span></h3>
     <table class="bp"><thead><tr><th>from</th><th>a<sub>k</sub></th><th>w<sub>jk</sub></th><th>a<sub>k</sub> × δ<sub>j</sub></th><th>∂C/∂w<sub>jk</sub></th></tr></thead><tbody>${links}</tbody></table>
     <p class="small muted" style="margin:8px 0 0">One point's gradients (no regularisation term), from nnlearn's
       <code>forward</code> and <code>backward</code> on this point: δ is read from ∂C/∂b (BP3), ∂C/∂w from the Dense layer's
       gradient. Choose another point with “inspect” and a click on the output plot.</p>`;
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

function syncControls() {
  const s = state.settings;
  for (const id of ["learning_rate", "activation", "optimizer", "cost", "init", "regularization", "reg_rate", "problem"]) {
    setSelectValue($(id), s[id]);
  }
  $("seed").value = s.seed;
  for (const id of ["train_ratio", "noise", "n_points", "batch_size"]) {
    $(id).value = s[id];
    $(id + "_v").textContent = id === "train_ratio" ? `${s[id]} %` : id === "noise" ? `${s[id]} %` : s[id];
  }
  $("cost").querySelector('[value="cross_entropy"]').disabled = s.problem === "regression";
  for (const b of document.querySelectorAll(".dataset")) {
    b.classList.toggle("on", b.dataset.name === s.dataset);
    b.style.display = state.datasets[b.dataset.name].problem === s.problem ? "" : "none";
  }
}

function controlValue(el) {
  if (el.dataset.kind === "int") return parseInt(el.value, 10);
  if (el.dataset.kind === "number") return parseFloat(el.value);
  return el.value;
}

function wireControls() {
  for (const id of ["learning_rate", "activation", "optimizer", "cost", "init", "regularization", "reg_rate", "seed",
    "train_ratio", "noise", "n_points", "batch_size"]) {
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
  $("reset").addEventListener("click", () => { NN.banner($("banner"), ""); send("control", { action: "reset" }).then(refreshCode); });
  $("regenerate").addEventListener("click", async () => {
    await send("control", { action: "regenerate" });
    state.settings.data_seed += 1; writeHash(state.settings); refreshCode();
  });
  $("addLayer").addEventListener("click", () => changeLayers(+1));
  $("removeLayer").addEventListener("click", () => changeLayers(-1));
  $("showTest").addEventListener("change", () => state.snap && drawBoundary(state.snap));
  $("discrete").addEventListener("change", () => state.snap && (drawBoundary(state.snap), drawNetwork(state.snap)));
  for (const b of document.querySelectorAll("#clickMode button")) {
    b.addEventListener("click", () => {
      state.clickMode = b.dataset.mode;
      for (const o of document.querySelectorAll("#clickMode button")) o.classList.toggle("on", o === b);
    });
  }
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
  $("boundary").addEventListener("click", onBoundaryClick);
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
  window.addEventListener("pagehide", () => {
    if (state.session) {  // keepalive: the request outlives the page; JSON like every POST
      fetch(`/api/playground/${state.session}/close`, { method: "POST", keepalive: true,
        headers: { "Content-Type": "application/json" }, body: "{}" });
    }
  });
}

function onBoundaryClick(event) {
  const canvas = $("boundary"), rect = canvas.getBoundingClientRect();
  const x = ((event.clientX - rect.left) / rect.width) * 12 - 6;
  const y = 6 - ((event.clientY - rect.top) / rect.height) * 12;
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
  send("points", { x: Math.max(-6, Math.min(6, x)), y: Math.max(-6, Math.min(6, y)), label }).catch(() => {});
}

async function drawDatasetButtons() {
  const info = await NN.api("/api/playground/datasets");
  state.datasets = info.datasets; state.features = info.features; state.defaults = info.defaults;
  const box = $("datasets");
  for (const [name, d] of Object.entries(info.datasets)) {
    const b = document.createElement("button");
    b.className = "dataset"; b.dataset.name = name; b.title = `${name} (${d.problem})`;
    const c = document.createElement("canvas");
    c.width = 116; c.height = 116;
    const ctx = c.getContext("2d");
    ctx.fillStyle = "#f6f8fb"; ctx.fillRect(0, 0, 116, 116);
    for (const [x, y, label] of d.points) {
      const [px, py] = toCanvas(x, y, 116, 116);
      ctx.beginPath(); ctx.arc(px, py, 2.6, 0, 7);
      ctx.fillStyle = d.problem === "classification" ? (label > 0.5 ? "rgb(47,127,193)" : "rgb(240,138,36)") : NN.color(label);
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
