// Runs: the run folders of --runs-dir, live learning curves, config diffs, test-set evaluation.
"use strict";

const $ = (id) => document.getElementById(id);
const COLORS = ["#3d6fd8", "#e8590c", "#2f9e6a", "#9c36b5", "#d6336c", "#1098ad", "#f59f00", "#5c7cfa"];
const POLL_MS = Math.max(200, Number(new URLSearchParams(location.search).get("poll")) || 1500);
const state = { runs: [], selected: new Set(), metrics: {}, metric: "evaluation_accuracy",
  current: null, colors: {}, firstLoad: true };

function colorOf(name) {
  if (!state.colors[name]) state.colors[name] = COLORS[Object.keys(state.colors).length % COLORS.length];
  return state.colors[name];
}

async function refreshRuns() {
  let info;
  try { info = await NN.api("/api/runs"); } catch (err) { NN.banner($("banner"), err.message); return; }
  NN.banner($("banner"), "");
  state.runs = info.runs;
  $("runsDir").textContent = info.runs_dir;
  $("updated").textContent = "updated " + new Date().toLocaleTimeString();
  $("noRuns").hidden = info.runs.length > 0;
  if (state.firstLoad && info.runs.length) {  // show the newest run and every running one
    state.selected.add(info.runs[0].name);
    for (const r of info.runs) if (r.status === "running") state.selected.add(r.name);
    state.firstLoad = false;
  }
  for (const r of info.runs) if (r.status === "running" && !(r.name in state.metrics)) state.selected.add(r.name);
  drawTable();
  fillDiffSelects();
  await refreshMetrics();
}

/** The table, patched in place: rows are made once per run and only their changed cells are
 * rewritten, so a click or the keyboard focus is never lost to a rebuild. */
function drawTable() {
  const body = $("runs");
  const rows = new Map([...body.children].map((tr) => [tr.dataset.run, tr]));
  const names = new Set(state.runs.map((r) => r.name));
  for (const [name, tr] of rows) if (!names.has(name)) tr.remove();
  state.runs.forEach((r, i) => {
    const tr = rows.get(r.name) || makeRow(r);
    updateRow(tr, r);
    if (body.children[i] !== tr) body.insertBefore(tr, body.children[i] || null);
  });
}

function makeRow(r) {
  const tr = document.createElement("tr");
  tr.dataset.run = r.name;
  tr.innerHTML =
    `<td><input type="checkbox" title="show on the chart" aria-label="show ${NN.escape(r.name)} on the chart"
        style="accent-color:${colorOf(r.name)}"></td>
     <td><a href="#" class="name mono">${NN.escape(r.name)}</a></td>
     <td class="small muted wide" data-cell="created"></td>
     <td><span class="pill" data-cell="status"></span></td>
     <td class="summary wide" data-cell="summary"></td>
     <td class="num" data-cell="epochs"></td>
     <td class="num" data-cell="best"></td>
     <td class="num" data-cell="test"></td>`;
  tr.querySelector("input").addEventListener("change", (e) => {
    if (e.target.checked) state.selected.add(r.name); else state.selected.delete(r.name);
    refreshMetrics();
  });
  tr.querySelector("a.name").addEventListener("click", (e) => { e.preventDefault(); showEvaluation(r.name); });
  return tr;
}

function updateRow(tr, r) {
  const pct = (v) => v === null || v === undefined ? "–" : (100 * v).toFixed(2) + "%";
  const cells = { created: r.created, status: r.status, summary: r.summary,
    epochs: `${r.epochs_done}${r.epochs_total ? " / " + r.epochs_total : ""}`,
    best: pct(r.best_validation_accuracy), test: pct(r.test_accuracy) };
  for (const [key, text] of Object.entries(cells)) {
    const cell = tr.querySelector(`[data-cell="${key}"]`);
    if (cell.textContent !== text) cell.textContent = text;
  }
  tr.querySelector('[data-cell="status"]').className = "pill " + r.status;
  tr.classList.toggle("current", r.name === state.current);
  const box = tr.querySelector("input");
  if (box.checked !== state.selected.has(r.name)) box.checked = state.selected.has(r.name);
}

async function refreshMetrics() {
  await Promise.all([...state.selected].map(async (name) => {
    const known = state.metrics[name] || [];
    try {
      const answer = await NN.api(`/api/runs/${encodeURIComponent(name)}/metrics?since=${known.length}`);
      state.metrics[name] = known.concat(answer.records);
    } catch (err) { state.selected.delete(name); }
  }));
  drawCurves();
}

function drawCurves() {
  const metric = state.metric, series = [];
  for (const name of state.selected) {
    const records = state.metrics[name] || [];
    series.push({ label: name, color: colorOf(name), dots: records.length < 40,
      points: records.filter((r) => r[metric] !== undefined).map((r) => [r.epoch, r[metric]]) });
  }
  const percent = metric.endsWith("accuracy") ? (t) => +(100 * t).toFixed(1) + "%" : undefined;
  const yLabel = { evaluation_accuracy: "validation accuracy", training_accuracy: "training accuracy",
    evaluation_cost: "validation cost", training_cost: "training cost" }[metric];
  NN.lineChart($("curves"), { series, xLabel: "epoch", yLabel, xInteger: true, yFormat: percent,
    empty: state.selected.size ? "no epochs recorded yet" : "tick runs in the table to plot them" });
  $("legend").innerHTML = series.map((s) =>
    `<span><span class="swatch" style="background:${s.color}"></span>${NN.escape(s.label)}` +
    ` <span class="muted">(${s.points.length} epoch${s.points.length === 1 ? "" : "s"})</span></span>`).join("");
  $("curves").dataset.points = series.map((s) => s.points.length).join(",");
}

function fillDiffSelects() {
  const readable = state.runs.filter((r) => r.status !== "unreadable");  // the automatic pair skips these
  const names = state.runs.map((r) => r.name).join("\n");
  for (const [id, pick] of [["diffA", 1], ["diffB", 0]]) {
    const select = $(id), before = select.value;
    if (select.dataset.names !== names) {  // rebuilt only when the runs change (an open list stays open)
      select.innerHTML = state.runs.map((r) => `<option>${NN.escape(r.name)}</option>`).join("");
      select.dataset.names = names;
    }
    if (state.runs.some((r) => r.name === before)) select.value = before;
    else if (readable.length) select.value = readable[Math.min(pick, readable.length - 1)].name;
  }
  if (!$("diff").dataset.pair && readable.length > 1) showDiff();
}

async function showDiff() {
  const a = $("diffA").value, b = $("diffB").value;
  if (!a || !b) return;
  $("diff").dataset.pair = a + "|" + b;
  try {
    const d = await NN.api(`/api/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
    const fmt = (v) => v === undefined || v === null ? "–" : NN.escape(JSON.stringify(v));
    $("diff").innerHTML = d.differences.length
      ? `<table class="diff"><thead><tr><th>key</th><th>${NN.escape(a)}</th><th>${NN.escape(b)}</th></tr></thead><tbody>` +
        d.differences.map((x) => `<tr><td>${NN.escape(x.key)}</td><td>${fmt(x.a)}</td><td>${fmt(x.b)}</td></tr>`).join("") +
        `</tbody></table><p class="muted small">${d.same} other keys are the same.</p>`
      : `The two configs are identical (${d.same} keys).`;
  } catch (err) { $("diff").textContent = err.message; }
}

async function showEvaluation(name) {
  state.current = name;
  drawTable();
  $("evalName").textContent = "· " + name;
  $("evaluation").textContent = "evaluating on the test set…";
  try {
    const e = await NN.api(`/api/runs/${encodeURIComponent(name)}/evaluation`);
    const max = Math.max(...e.confusion.map((row, i) => Math.max(...row.filter((_, j) => j !== i))), 1);
    let table = `<div class="table-wrap"><table class="confusion"><tr><th title="true \\ predicted">t\\p</th>` +
      e.confusion.map((_, j) => `<th>${j}</th>`).join("") + "</tr>";
    e.confusion.forEach((row, i) => {
      table += `<tr><th>${i}</th>` + row.map((n, j) => {
        const bg = i === j ? `rgba(47,158,106,${0.15 + 0.5 * n / Math.max(...row)})`
          : n ? `rgba(214,69,69,${0.08 + 0.72 * n / max})` : "transparent";
        return `<td style="background:${bg}" title="true ${i}, predicted ${j}: ${n}">${n}</td>`;
      }).join("") + "</tr>";
    });
    table += "</table></div>";
    $("evaluation").innerHTML =
      `<p style="margin:0 0 6px" class="small">Accuracy <b>${(100 * e.correct / e.total).toFixed(2)}%</b>
        (${e.correct} / ${e.total}); rows: the true digit, columns: the prediction.</p>${table}
       <h3 style="margin-top:14px">Misclassified test digits <span class="muted small">(first ${e.misclassified.length} of ${e.misclassified_total})</span></h3>
       <div class="digits" id="digits"></div>`;
    for (const m of e.misclassified) {
      const fig = document.createElement("figure");
      const canvas = document.createElement("canvas");
      if (m.image) NN.drawGrey(canvas, m.image, 255);
      fig.appendChild(canvas);
      fig.insertAdjacentHTML("beforeend", `<figcaption>${m.label} → <b>${m.predicted}</b> ${m.probability.toFixed(2)}</figcaption>`);
      $("digits").appendChild(fig);
    }
  } catch (err) { $("evaluation").textContent = err.message; }
}

for (const b of document.querySelectorAll("#metric button")) {
  b.addEventListener("click", () => {
    state.metric = b.dataset.metric;
    for (const o of document.querySelectorAll("#metric button")) o.classList.toggle("on", o === b);
    drawCurves();
  });
}
$("diffA").addEventListener("change", showDiff);
$("diffB").addEventListener("change", showDiff);
window.addEventListener("resize", drawCurves);

(async function main() {
  await refreshRuns();
  const finished = state.runs.find((r) => r.status === "finished" && r.has_model);
  if (finished) showEvaluation(finished.name);
  setInterval(refreshRuns, POLL_MS);
})();
