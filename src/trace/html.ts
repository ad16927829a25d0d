/**
 * The self-contained HTML report of a run: one static file (inline CSS and
 * script, the run's data embedded as JSON) that opens from disk or as a CI
 * artefact, without network. It shows the summary, every splat with its
 * body and backtraces (editor links), a thread error with its throw site,
 * the timeline (lanes for threads, locks, fences, jobs, dma-bufs, IRQs;
 * wake-up arrows; splat markers), the schedule with the options each
 * decision had, the legend, and the replay command.
 *
 * Its entry point takes events and a summary, so runs and parsed kernel
 * traces produce the same report.
 */
import type { Decision, FoldedFrame, KernelEvent, Splat } from '../kernel/index.ts';
import { REPORT_SCRIPT } from './html-client.ts';
import { timelineData } from './html-data.ts';
import { encodeTimeline, STYLE_KEYS } from './html-model.ts';
import type { TimelineData } from './html-model.ts';
import { esc, failureHtml, legendHtml, splatsHtml, summaryHtml } from './html-sections.ts';
import { REPORT_CSS } from './html-style.ts';

/** What the report shows. */
export interface HtmlReportInput {
  readonly title: string;
  /** `key: value` lines at the top (limits, seed, result, verdict, notes). */
  readonly summary: readonly (readonly [string, string])[];
  readonly splats: readonly Splat[];
  /** The run's events (the timeline and the schedule's details come from them); null when none were recorded. */
  readonly events: readonly KernelEvent[] | null;
  readonly decisions: readonly Decision[];
  readonly replay: string;
  /** A run that failed (a thread threw): what and where. */
  readonly failure?: {
    readonly kind: string;
    readonly message: string;
    readonly stack?: readonly FoldedFrame[];
  } | null;
  /** Shown where a splat has no backtraces (why they are missing, how to get them). */
  readonly stacksNote?: string;
  /** Directory that relative source paths are relative to (default: the working directory). */
  readonly cwd?: string;
}

/**
 * JSON safe to embed in a script element: `<` escaped (no `</script>`, no
 * `<!--`), and U+2028 / U+2029 escaped for old parsers.
 */
export function embedJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** The style keys a timeline draws (for a legend without unused entries). */
function usedStyles(d: TimelineData): Set<string> {
  const keys = new Set<string>();
  for (const k of d.iv.k) keys.add(STYLE_KEYS[k]!);
  for (const k of d.mk.k) keys.add(STYLE_KEYS[k]!);
  if (d.ar.fl.length) keys.add('wake');
  if (d.sp.at.length) keys.add('splat');
  return keys;
}

/** The report as one HTML document. */
export function toHtmlReport(r: HtmlReportInput): string {
  const cwd = r.cwd ?? process.cwd();
  const timeline = r.events ? timelineData(r.events) : null;
  // With a choice event for every decision the schedule comes from them; the plain list is the fallback.
  const complete = timeline !== null && timeline.choices.length === r.decisions.length;
  const data = {
    timeline: timeline ? encodeTimeline(timeline) : null,
    decisions: complete ? [] : r.decisions.map((d) => ({ kind: d.kind, label: d.label })),
    splats: r.splats.map((s) => ({
      rule: s.rule,
      headline: s.headline,
      timeNs: s.timeNs,
      step: s.step,
    })),
  };
  const stacksNote =
    r.stacksNote ?? 'No backtraces: run with --stacks (or replay this schedule) to capture them.';
  const failure = r.failure
    ? `<section id="failure"><h2>The run failed</h2>${failureHtml(r.failure, cwd)}</section>`
    : '';
  const nDecisions = complete ? timeline.choices.length : r.decisions.length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${REPORT_CSS}</style></head>
<body>
<header class="top"><h1>${esc(r.title)}</h1><nav><a href="#splats">splats (${r.splats.length})</a><a href="#timeline-section">timeline</a><a href="#schedule">schedule</a><a href="#legend">legend</a><a href="#replay">replay</a></nav></header>
<main>
<section id="summary">${summaryHtml(r.summary)}</section>
${failure}
<section id="splats"><h2>Splats (${r.splats.length})</h2>${splatsHtml(r.splats, cwd, stacksNote)}</section>
<section id="timeline-section"><h2>Timeline</h2>
<div class="toolbar">
<label>layout <select id="tl-layout"><option value="compact" selected>idle time collapsed</option><option value="time">virtual time</option><option value="step">by step</option></select></label>
<span><button id="tl-zoom-in" title="zoom in (W, wheel)">+</button> <button id="tl-zoom-out" title="zoom out (S, wheel)">−</button> <button id="tl-reset" title="show everything (0)">reset</button></span>
<label><input type="checkbox" id="tl-arrows" checked> wake-up arrows</label>
<span class="range" id="tl-range"></span>
</div>
<div class="toolbar"><span class="meta">lanes:</span><span class="groups" id="tl-groups"></span></div>
<div id="timeline" tabindex="0" aria-label="timeline: wheel zooms, drag pans, W/S/A/D, 0 resets">
<div id="tl-markers"></div>
<div id="tl-scroll"><canvas id="tl-canvas"></canvas><div id="tl-spacer"></div></div>
<div id="tl-tip"></div>
</div>
<p class="meta">Wheel over the lanes zooms around the pointer (over the names it scrolls; shift+wheel scrolls too), drag pans, keys W/S zoom, A/D pan, 0 resets. Hover for details (times in ms, exact ns in brackets). Red dots are splats: click one for its report. For every event, open the .trace.json file in Perfetto UI.</p>
</section>
<section id="schedule"><h2>Schedule (${nDecisions} decisions)</h2>
<p class="meta">Each decision the run made among several options: which thread ran (and the operation it was waiting at), which timer fired first, which fault was injected; the alternatives are what else could have happened at that point, the interleavings an explorer would try.</p>
<div id="sched-wrap"><table class="sched"><thead><tr><th>#</th><th>step</th><th>virtual time</th><th>kind</th><th>chosen</th><th>waiting at</th><th>alternatives (waiting at)</th></tr></thead><tbody id="sched-body"></tbody></table></div>
<button id="sched-more" class="link" style="display:none"></button>
</section>
<section id="legend"><h2>Legend</h2>${legendHtml(timeline ? usedStyles(timeline) : null)}</section>
<section id="replay"><h2>Replay</h2><p><code>${esc(r.replay)}</code></p></section>
</main>
<script type="application/json" id="run-data">${embedJson(data)}</script>
<script>${REPORT_SCRIPT}</script>
</body></html>
`;
}
