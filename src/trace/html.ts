/**
 * The self-contained HTML report of a run: one static file (inline CSS and
 * script, run data embedded as JSON) that opens from disk or as a CI
 * artefact. It shows the summary, every splat with its full body, a
 * timeline of the threads (the same slices as the Chrome trace), the
 * schedule, and the replay command.
 */
import type { Decision, Splat } from '../kernel/index.ts';
import type { ChromeTrace } from './chrome.ts';

/** What the report shows. */
export interface HtmlReportInput {
  readonly title: string;
  /** `key: value` lines at the top (limits, seed, result, verdict). */
  readonly summary: readonly (readonly [string, string])[];
  readonly splats: readonly Splat[];
  /** The run's trace (from `toChromeTrace`); its slices draw the timeline. */
  readonly trace: ChromeTrace | null;
  readonly decisions: readonly Decision[];
  readonly replay: string;
}

/** Decisions listed in full up to this many; the rest are counted. */
const MAX_DECISIONS = 5000;

function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** JSON safe to embed in a script element. */
function embed(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d1d1f;background:#fafafa}
h1{font-size:20px;margin:0 0 12px}h2{font-size:16px;margin:28px 0 8px}
table.kv td{padding:1px 14px 1px 0;vertical-align:top}table.kv td:first-child{color:#666}
pre{background:#fff;border:1px solid #ddd;padding:10px;overflow:auto;font:12px/1.4 ui-monospace,monospace}
.splat h3{font-size:14px;margin:14px 0 4px}.rule{font:12px ui-monospace,monospace;background:#fde2e1;color:#a1251b;padding:1px 6px;border-radius:3px}
.rule.info{background:#fff3cd;color:#7a5a00}.meta{color:#666;font-size:12px}
#timeline{overflow-x:auto;background:#fff;border:1px solid #ddd}
#timeline svg text{font:11px ui-monospace,monospace}
code{font:13px ui-monospace,monospace;background:#eee;padding:2px 5px;border-radius:3px}
ol.sched{font:12px ui-monospace,monospace;columns:3;max-height:420px;overflow:auto;background:#fff;border:1px solid #ddd;padding:8px 8px 8px 48px}
`;

/* The timeline script: one lane per thread track; run slices dark, blocked
 * slices light, splats as red lines; hover for names. Display time follows
 * the trace (virtual time plus a small per-event spacing). */
const SCRIPT = `
(function(){
  var data = JSON.parse(document.getElementById('trace-data').textContent);
  var host = document.getElementById('timeline');
  if (!data) { host.textContent = 'no trace recorded for this run'; return; }
  var ev = data.traceEvents, names = {}, order = [];
  ev.forEach(function(e){ if (e.ph === 'M' && e.name === 'thread_name') { names[e.tid] = e.args.name; order.push(e.tid); } });
  var xs = ev.filter(function(e){ return e.ph === 'X'; });
  var marks = ev.filter(function(e){ return e.ph === 'i' && e.s === 'g'; });
  var t0 = Infinity, t1 = -Infinity;
  xs.concat(marks).forEach(function(e){ t0 = Math.min(t0, e.ts); t1 = Math.max(t1, e.ts + (e.dur || 0)); });
  if (!isFinite(t0)) { host.textContent = 'the trace has no slices'; return; }
  var lane = 22, left = 200, width = Math.max(900, Math.min(20000, xs.length * 6));
  var scale = width / Math.max(t1 - t0, 1e-3);
  var ns = 'http://www.w3.org/2000/svg';
  var svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', left + width + 20); svg.setAttribute('height', order.length * lane + 10);
  function el(tag, attrs, title){ var n = document.createElementNS(ns, tag); for (var k in attrs) n.setAttribute(k, attrs[k]);
    if (title) { var t = document.createElementNS(ns, 'title'); t.textContent = title; n.appendChild(t); } svg.appendChild(n); return n; }
  order.forEach(function(tid, i){ var y = i * lane + 4; el('text', { x: 4, y: y + 13 }).textContent = names[tid]; el('line', { x1: left, x2: left + width, y1: y + lane - 3, y2: y + lane - 3, stroke: '#eee' }); });
  xs.forEach(function(e){ var i = order.indexOf(e.tid); if (i < 0) return;
    var fill = e.cat === 'run' ? '#3b6fb6' : e.cat === 'blocked' ? '#c9d6ea' : '#999';
    el('rect', { x: left + (e.ts - t0) * scale, y: i * lane + 6, width: Math.max(1, (e.dur || 0) * scale), height: lane - 10, fill: fill },
      names[e.tid] + ': ' + e.name + ' @ ' + (e.args && e.args.vt_ns !== undefined ? e.args.vt_ns + ' ns' : e.ts + ' us') + (e.args && e.args.on ? ' on ' + e.args.on : ''));
  });
  marks.forEach(function(e){ var x = left + (e.ts - t0) * scale;
    el('line', { x1: x, x2: x, y1: 0, y2: order.length * lane + 6, stroke: '#d93025', 'stroke-width': 2 }, '[' + e.args.rule + '] ' + e.name); });
  host.appendChild(svg);
})();
`;

/** The report as one HTML document. */
export function toHtmlReport(r: HtmlReportInput): string {
  const rows = r.summary.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('');
  const splats = r.splats.length
    ? r.splats
        .map(
          (s) =>
            `<div class="splat"><h3><span class="rule${s.severity === 'info' ? ' info' : ''}">${esc(s.rule)}</span> ${esc(s.headline)}</h3>` +
            `<div class="meta">thread ${esc(s.thread ?? '-')}, virtual time ${s.timeNs} ns, step ${s.step}</div>` +
            (s.body ? `<pre>${esc(s.body)}</pre>` : '') +
            '</div>',
        )
        .join('')
    : '<p>No splats: the run reported nothing.</p>';
  const shown = r.decisions.slice(0, MAX_DECISIONS);
  const more = r.decisions.length - shown.length;
  const sched = r.decisions.length
    ? `<ol class="sched">${shown.map((d) => `<li>${esc(d.kind)}: ${esc(d.label)}</li>`).join('')}</ol>` +
      (more > 0
        ? `<p>... and ${more} more decisions (save the schedule with --save-schedule to see them all).</p>`
        : '')
    : '<p>No decisions with more than one option were made.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body>
<h1>${esc(r.title)}</h1>
<table class="kv">${rows}</table>
<h2>Replay</h2><p><code>${esc(r.replay)}</code></p>
<h2>Splats (${r.splats.length})</h2>${splats}
<h2>Timeline</h2><div id="timeline"></div>
<p class="meta">Dark: running; light: blocked; red: splats. Hover for details. For the full trace open the .trace.json file in Perfetto UI.</p>
<h2>Schedule (${r.decisions.length} decisions)</h2>${sched}
<script type="application/json" id="trace-data">${embed(r.trace)}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
