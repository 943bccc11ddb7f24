// adapterctl ui: live reload, charts (uPlot), confirmed actions. No network beyond this server.
"use strict";

const PALETTE = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7d8c"];

function followRepository() {
  const drawn = document.body.dataset.stamp;
  const badge = document.getElementById("live");
  async function look() {
    try {
      const response = await fetch("/live", { cache: "no-store" });
      if (response.ok) {
        const { stamp } = await response.json();
        if (stamp && stamp !== drawn) {
          sessionStorage.setItem("adapterctl-scroll", String(window.scrollY));
          window.location.reload();
          return;
        }
        badge && badge.classList.remove("stale");
      }
    } catch (err) {
      badge && badge.classList.add("stale"); // the server stopped: keep the page, keep looking
    }
    setTimeout(look, 500);
  }
  const scroll = sessionStorage.getItem("adapterctl-scroll");
  if (scroll !== null) {
    sessionStorage.removeItem("adapterctl-scroll");
    window.scrollTo(0, Number(scroll));
  }
  setTimeout(look, 500);
}

function chartWidth(el) {
  return Math.max(320, Math.min(el.clientWidth || el.parentElement.clientWidth, 900) - 8);
}

function metricChart(el, spec) {
  const pts = spec.points;
  const xs = pts.map((p) => p.x);
  const value = pts.map((p) => p.value);
  const low = pts.map((p) => p.low);
  const high = pts.map((p) => p.high);
  const labels = pts.map((p) => p.short);
  const opts = {
    width: chartWidth(el),
    height: 180,
    padding: [8, 28, 0, 8],
    legend: { show: false },
    scales: { x: { time: false } },
    axes: [
      // one tick per version at most, labelled with its short id
      { incrs: [1, 2, 5, 10, 20, 50, 100], values: (u, splits) => splits.map((i) => (Number.isInteger(i) ? (labels[i] || "").slice(0, 8) : "")) },
      {},
    ],
    series: [
      { label: "version", value: (u, i) => (i == null ? "" : labels[Math.round(i)] || "") },
      { label: spec.title, stroke: PALETTE[0], width: 2, points: { show: true, size: 6 }, spanGaps: true },
      { label: "95% high", stroke: "rgba(31,111,235,0.25)", spanGaps: true },
      { label: "95% low", stroke: "rgba(31,111,235,0.25)", spanGaps: true },
    ],
    bands: [{ series: [2, 3], fill: "rgba(31,111,235,0.12)" }],
  };
  new uPlot(opts, [xs, value, high, low], el);
}

function curvesChart(el, spec) {
  const steps = new Set();
  const lines = [];
  Object.entries(spec.series).forEach(([label, points], i) => {
    const colour = PALETTE[i % PALETTE.length];
    // report blocks give [[step, val_loss]]; cards give [{step, loss?, val_loss?}]
    const rows = points.map((p) => (Array.isArray(p) ? { step: p[0], val_loss: p[1] } : p));
    for (const [key, dash] of [["loss", null], ["val_loss", [6, 4]]]) {
      const known = new Map(rows.filter((p) => p[key] != null).map((p) => [p.step, p[key]]));
      if (known.size) {
        known.forEach((_, s) => steps.add(s));
        lines.push({ label: `${label} ${key === "loss" ? "train" : "val"}`, colour, dash, known });
      }
    }
  });
  const xs = [...steps].sort((a, b) => a - b);
  const data = [xs, ...lines.map((l) => xs.map((s) => (l.known.has(s) ? l.known.get(s) : null)))];
  const series = [{ label: "step" }].concat(
    lines.map((l) => ({ label: l.label, stroke: l.colour, width: 2, dash: l.dash || undefined, spanGaps: true, points: { show: xs.length < 40 } }))
  );
  const stepAxis = { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] }; // whole steps only
  new uPlot({ width: chartWidth(el), height: 240, padding: [8, 28, 0, 8], scales: { x: { time: false } }, axes: [stepAxis, {}], series }, data, el);
}

function drawCharts() {
  document.querySelectorAll("[data-chart]").forEach((el) => {
    const spec = JSON.parse(el.dataset.chart);
    if (el.dataset.kind === "metric") metricChart(el, spec);
    else curvesChart(el, spec);
  });
}

function notice(text, kind) {
  const box = document.getElementById("notice");
  box.hidden = false;
  box.className = kind;
  box.textContent = text;
}

function wireActions() {
  document.querySelectorAll("button.act").forEach((button) => {
    button.addEventListener("click", async () => {
      const d = button.dataset;
      const body = d.action === "deploy"
        ? { ref: d.ref, env: d.env }
        : { name: d.name, env: d.env, to: d.to || null };
      const command = d.action === "deploy"
        ? `adapterctl deploy ${d.ref} --env ${d.env}`
        : `adapterctl rollback ${d.name} --env ${d.env}` + (d.to ? ` --to ${d.to}` : "");
      if (!window.confirm(`Run this?\n\n${command}`)) return;
      button.disabled = true;
      const response = await fetch(`/actions/${d.action}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-adapterctl-action": "1" },
        body: JSON.stringify(body),
      });
      const answer = await response.json();
      if (answer.ok) {
        sessionStorage.setItem("adapterctl-notice", `${answer.message} — the same as: ${answer.command}`);
      } else {
        notice(`Refused: ${answer.error}`, "bad");
        button.disabled = false;
      }
    });
  });
  const said = sessionStorage.getItem("adapterctl-notice");
  if (said) {
    sessionStorage.removeItem("adapterctl-notice");
    notice(said, "good");
  }
}

function wireCurvesForm() {
  const form = document.getElementById("curves-form");
  if (!form) return;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = [...form.querySelectorAll("input[name=v]:checked")].map((c) => c.value);
    window.location.search = chosen.length ? `?curves=${chosen.join(",")}` : "";
  });
}

document.addEventListener("DOMContentLoaded", () => {
  drawCharts();
  wireActions();
  wireCurvesForm();
  followRepository();
});
