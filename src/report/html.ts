/**
 * The timeline report as one self-contained HTML page (`Session.report()`, `remotemedia run --report`):
 * the report's JSON (`data.ts`) inlined, a stylesheet and a small script that draws it — no network, no
 * external files, so it opens offline from a file URL. On one time axis: the input (and output)
 * waveform as min/max columns on a canvas; speech segments, turns and alerts as SVG bands and markers
 * (their times in a tooltip); one lane per node (node id and type; each call a tick whose height is its
 * duration, the queue depth as a line, drops and errors as red marks). Below: the per-node statistics
 * table and the manifest.
 *
 * @module
 */
import type { ReportData } from "./data.ts";

/** Text safe inside HTML. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe inside a `<script>` element (no `</script>`, no `<!--`). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(
    /\u2029/g,
    "\\u2029",
  );
}

const STYLE = `
body{font:13px system-ui,sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:18px;margin:0 0 4px}h2{font-size:15px;margin:20px 0 6px}
.meta{color:#666;margin-bottom:10px}
#timeline{position:relative}
.row{display:flex;align-items:stretch;border-top:1px solid #eee}
.label{flex:0 0 170px;padding:4px 6px;box-sizing:border-box;overflow:hidden;text-overflow:ellipsis}
.label b{display:block;font-weight:600}.label span{color:#777;font-size:11px}
.track{flex:1 1 auto;position:relative;min-width:0}
.track canvas,.track svg{display:block;width:100%}
#tip{position:fixed;pointer-events:none;background:#222;color:#fff;padding:3px 6px;border-radius:3px;
font-size:12px;white-space:pre;display:none;z-index:9}
table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:right}
td:first-child,td:nth-child(2),th:first-child,th:nth-child(2){text-align:left}
pre{background:#f6f6f6;padding:8px;overflow:auto;max-height:400px}
.legend span{margin-right:14px}.sw{display:inline-block;width:10px;height:10px;margin-right:4px}
`;

// The page's script: plain JavaScript, run once on load. It reads the JSON from #report-data.
const SCRIPT = String.raw`
"use strict";
const D = JSON.parse(document.getElementById("report-data").textContent);
const dur = Math.max(D.durationUs, 1);
const tip = document.getElementById("tip");
const root = document.getElementById("timeline");
const fmt = (us) => (us / 1e6).toFixed(3) + " s";
const ms = (us) => (us / 1000).toFixed(3) + " ms";
function showTip(ev, text) {
  tip.textContent = text;
  tip.style.display = "block";
  tip.style.left = (ev.clientX + 12) + "px";
  tip.style.top = (ev.clientY + 12) + "px";
}
function hideTip() { tip.style.display = "none"; }
function row(label, sub, height, kind) {
  const r = document.createElement("div");
  r.className = "row";
  const l = document.createElement("div");
  l.className = "label";
  const b = document.createElement("b");
  b.textContent = label;
  const s = document.createElement("span");
  s.textContent = sub;
  l.append(b, s);
  const t = document.createElement("div");
  t.className = "track";
  r.append(l, t);
  root.append(r);
  let el;
  if (kind === "svg") {
    el = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    el.setAttribute("height", String(height));
  } else {
    el = document.createElement("canvas");
    el.style.height = height + "px";
  }
  t.append(el);
  return el;
}
function canvasOf(el) {
  const w = Math.max(1, el.clientWidth), h = Math.max(1, el.clientHeight);
  const ratio = window.devicePixelRatio || 1;
  el.width = Math.round(w * ratio);
  el.height = Math.round(h * ratio);
  const g = el.getContext("2d");
  g.scale(ratio, ratio);
  return { g, w, h };
}
// A series' bucket i on the x axis.
function xOf(us, w) { return us / dur * w; }
function hover(el, series, describe) {
  el.addEventListener("mousemove", (ev) => {
    const box = el.getBoundingClientRect();
    const us = (ev.clientX - box.left) / box.width * dur;
    const i = Math.floor((us - series.startUs) / series.widthUs);
    const text = describe(i, us);
    if (text) showTip(ev, text); else hideTip();
  });
  el.addEventListener("mouseleave", hideTip);
}
function waveform(name, series) {
  const el = row(name, "waveform", 70);
  el.dataset.kind = "waveform";
  const { g, w, h } = canvasOf(el);
  const mid = h / 2;
  g.fillStyle = "#3b6fb6";
  const lo = series.values.min, hi = series.values.max;
  let drawn = 0;
  for (let i = 0; i < lo.length; i++) {
    const x0 = xOf(series.startUs + i * series.widthUs, w);
    const x1 = xOf(series.startUs + (i + 1) * series.widthUs, w);
    const top = mid - Math.min(1, hi[i]) * mid, bottom = mid - Math.max(-1, lo[i]) * mid;
    g.fillRect(x0, top, Math.max(1, x1 - x0), Math.max(1, bottom - top));
    drawn++;
  }
  el.dataset.drawn = String(drawn);
  hover(el, series, (i, us) =>
    i >= 0 && i < lo.length ? fmt(us) + "\nmin " + lo[i].toFixed(3) + "  max " + hi[i].toFixed(3) : "");
}
function axis() {
  const svg = row("time", D.clock === "audio" ? "audio time" : "session time", 22, "svg");
  const w = svg.clientWidth || 1000;
  const steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  const step = steps.find((s) => dur / 1e6 / s <= 12) || 7200;
  let html = "";
  for (let t = 0; t * 1e6 <= dur; t += step) {
    const x = xOf(t * 1e6, w);
    const label = t >= 60 ? Math.floor(t / 60) + ":" + String(Math.round(t % 60)).padStart(2, "0") : t.toFixed(step < 1 ? 1 : 0) + " s";
    html += '<line x1="' + x + '" x2="' + x + '" y1="14" y2="22" stroke="#999"/>' +
      '<text x="' + (x + 2) + '" y="11" font-size="10" fill="#555">' + label + "</text>";
  }
  svg.innerHTML = html;
}
const COLORS = { speech: "#7cc47c", turn: "#e8b04a", alert: "#d9534f" };
// Node events are in audio time: on the shared axis, or (no pushed audio) on an axis of their own.
let evDur = dur;
if (D.clock !== "audio") {
  evDur = 1;
  for (const e of D.events) evDur = Math.max(evDur, e.endUs || e.timeUs || 0);
}
function bands() {
  const svg = row("speech & turns", D.clock === "audio" ? "bands and markers" : "own axis: 0–" + fmt(evDur) + " of audio", 44, "svg");
  svg.dataset.kind = "events";
  const w = (svg.clientWidth || 1000) * dur / evDur;
  const parts = [];
  const open = new Map();
  const title = (t) => "<title>" + t.replace(/[&<>]/g, (c) => "&#" + c.charCodeAt(0) + ";") + "</title>";
  const band = (y, h, a, b, color, t) => {
    const x = xOf(a, w), x2 = xOf(b, w);
    parts.push('<rect class="band" x="' + x + '" y="' + y + '" width="' + Math.max(2, x2 - x) + '" height="' + h +
      '" fill="' + color + '" fill-opacity="0.7">' + title(t) + "</rect>");
  };
  const mark = (y, at, color, t) => {
    const x = xOf(at, w);
    parts.push('<path class="marker" d="M' + (x - 4) + " " + y + "L" + (x + 4) + " " + y + "L" + x + " " + (y + 7) +
      'Z" fill="' + color + '">' + title(t) + "</path>");
  };
  for (const e of D.events) {
    const who = " (" + e.node + ")";
    if (e.type === "speech_start") mark(2, e.timeUs, "#2e7d32", "speech_start " + fmt(e.timeUs) + who);
    else if (e.type === "speech_end") {
      band(10, 12, e.startUs, e.endUs, COLORS.speech, "speech " + fmt(e.startUs) + " – " + fmt(e.endUs) +
        " (" + fmt(e.durationUs) + ", p " + e.probability + ")" + who);
    } else if (e.type === "turn_start") mark(24, e.timeUs, "#b7791f", "turn_start " + fmt(e.timeUs) + who);
    else if (e.type === "turn_end") {
      band(32, 10, e.startUs, e.endUs, COLORS.turn, "turn " + fmt(e.startUs) + " – " + fmt(e.endUs) +
        " (" + e.reason + ", cue " + e.cue + ", decided " + fmt(e.decidedUs) + ")" + who);
    } else if (e.type === "alert") open.set(e.node + e.kind, e);
    else if (e.type === "alert_end") {
      band(24, 6, e.startUs, e.endUs, COLORS.alert, e.kind + " " + fmt(e.startUs) + " – " + fmt(e.endUs) + " " + e.detail + who);
      open.delete(e.node + e.kind);
    }
  }
  for (const e of open.values()) band(24, 6, e.startUs, dur, COLORS.alert, e.kind + " from " + fmt(e.startUs) + " " + e.detail);
  svg.innerHTML = parts.join("");
  svg.dataset.drawn = String(parts.length);
}
function lane(node, stats) {
  const el = row(node.id, node.type || (stats && stats.type) || "", 54);
  el.dataset.kind = "lane";
  el.dataset.node = node.id;
  const { g, w, h } = canvasOf(el);
  const c = node.calls, count = c.values.count, max = c.values.maxUs;
  let top = 1;
  for (const v of max) if (v > top) top = v;
  g.fillStyle = "#6a5acd";
  let drawn = 0;
  for (let i = 0; i < count.length; i++) {
    if (!count[i]) continue;
    const x = xOf(c.startUs + i * c.widthUs, w);
    const bar = Math.max(1, Math.sqrt(max[i] / top) * (h - 4));
    g.fillRect(x, h - bar, Math.max(1, xOf(c.widthUs, w) - 0.3), bar);
    drawn++;
  }
  const q = node.queue.values.max;
  let qTop = 1;
  for (const v of q) if (v > qTop) qTop = v;
  if (q.some((v) => v > 0)) {
    g.strokeStyle = "#e07b00";
    g.beginPath();
    for (let i = 0; i < q.length; i++) {
      const x = xOf(node.queue.startUs + (i + 0.5) * node.queue.widthUs, w);
      const y = h - 2 - q[i] / qTop * (h - 6);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    }
    g.stroke();
  }
  g.fillStyle = "#d62728";
  const d = node.drops.values.count;
  for (let i = 0; i < d.length; i++) {
    if (d[i]) g.fillRect(xOf(node.drops.startUs + i * node.drops.widthUs, w), 0, 2, 8);
  }
  for (const e of D.errors) {
    if (e.node !== node.id) continue;
    const x = xOf(e.atUs, w);
    g.beginPath(); g.moveTo(x - 4, 0); g.lineTo(x + 4, 0); g.lineTo(x, 9); g.closePath(); g.fill();
  }
  el.dataset.drawn = String(drawn);
  hover(el, c, (i, us) => {
    const lines = [node.id + " @ " + fmt(us)];
    if (i >= 0 && i < count.length && count[i]) {
      lines.push(count[i] + " call" + (count[i] > 1 ? "s" : "") + ", longest " + ms(max[i]) + ", total " + ms(c.values.totalUs[i]));
    }
    const qi = Math.floor((us - node.queue.startUs) / node.queue.widthUs);
    if (qi >= 0 && qi < q.length && q[qi]) lines.push("queue " + q[qi]);
    if (qi >= 0 && qi < d.length && d[qi]) lines.push(d[qi] + " dropped");
    for (const e of D.errors) if (e.node === node.id && Math.abs(e.atUs - us) < dur / 200) lines.push("error: " + e.message);
    return lines.join("\n");
  });
}
function draw() {
  root.textContent = "";
  axis();
  if (D.input) waveform("input", D.input);
  if (D.output) waveform("output", D.output);
  bands();
  const stats = new Map(D.stats.map((s) => [s.id, s]));
  for (const node of D.nodes) lane(node, stats.get(node.id));
  document.body.dataset.rendered = "1";
  // Milliseconds from the start of navigation to the drawn page (bench/report.ts reads it).
  document.body.dataset.renderedAtMs = performance.now().toFixed(1);
}
draw();
let resize;
window.addEventListener("resize", () => { clearTimeout(resize); resize = setTimeout(draw, 100); });
`;

/** One number of the statistics table. */
function cell(value: number, digits: number): string {
  return `<td>${value.toFixed(digits)}</td>`;
}

/** The timeline report of `data` as one self-contained HTML page. @internal */
export function reportHtml(data: ReportData, title: string): string {
  const name = title ? `${title} — ` : "";
  const rows = data.stats.map((m) =>
    `<tr><td>${escapeHtml(m.id)}</td><td>${escapeHtml(m.type)}</td>${cell(m.itemsIn, 0)}${
      cell(m.itemsOut, 0)
    }${cell(m.totalMs, 2)}${cell(m.p50Ms, 3)}${cell(m.p95Ms, 3)}${cell(m.maxMs, 3)}${
      cell(m.dropped, 0)
    }${cell(m.errors, 0)}</tr>`
  ).join("");
  const lost = data.lost.nativeEvents + data.lost.nodeEvents + data.lost.errors;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(name)}remotemedia timeline</title>
<style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(name)}timeline</h1>
<div class="meta">${(data.durationUs / 1e6).toFixed(2)} s of ${
    data.clock === "audio" ? "audio" : "session time"
  }, ${data.nodes.length} nodes, ${data.events.length} node events, ${data.errors.length} errors${
    lost ? `; left out: ${lost} events (caps and the native log)` : ""
  }</div>
<div class="legend"><span><i class="sw" style="background:#3b6fb6"></i>waveform</span><span><i class="sw" style="background:#7cc47c"></i>speech</span><span><i class="sw" style="background:#e8b04a"></i>turn</span><span><i class="sw" style="background:#6a5acd"></i>call (height: duration)</span><span><i class="sw" style="background:#e07b00"></i>queue depth</span><span><i class="sw" style="background:#d62728"></i>drop / error</span></div>
<div id="timeline"></div>
<div id="tip"></div>
<h2>Per node</h2>
<table id="stats"><thead><tr><th>node</th><th>type</th><th>in</th><th>out</th><th>total ms</th><th>p50 ms</th><th>p95 ms</th><th>max ms</th><th>dropped</th><th>errors</th></tr></thead>
<tbody>${rows}</tbody></table>
<h2>Manifest</h2>
<pre id="manifest">${
    escapeHtml(
      typeof data.manifest === "string" ? data.manifest : JSON.stringify(data.manifest, null, 2),
    )
  }</pre>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
