/**
 * Files a run writes: the Chrome trace, the HTML report and the kernel
 * trace text (the schedule file is schedule-file.ts). Each function throws
 * the file system's error when it cannot write; the commands report it
 * after the summary (artefacts.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { KernelEvent } from '../kernel/index.ts';
import { chromeTraceJson, toChromeTrace, toFtraceText, toHtmlReport } from '../trace/index.ts';
import type { ChromeTrace } from '../trace/index.ts';
import { formatCount, formatNs } from './format.ts';
import { problemOf } from './summary.ts';
import type { RunOutcome } from './supervisor.ts';

function ensureDir(file: string): void {
  mkdirSync(dirname(resolve(file)), { recursive: true });
}

/** The run's events, with a watchdog mark when the run was stopped. */
function eventsOf(o: RunOutcome): KernelEvent[] {
  const events: KernelEvent[] = [...(o.events ?? [])];
  if (o.status === 'timeout') {
    // Mark where the watchdog found the run, on the track of the thread that was running.
    const last = events[events.length - 1];
    const mark = {
      type: 'watchdog',
      tNs: last?.tNs ?? 0,
      step: o.progress.steps,
      tid: o.progress.tid,
      thread: o.progress.thread ?? '',
      stopped: `after ${o.timeoutMs / 1000} s of wall-clock time`,
    };
    events.push(mark as unknown as KernelEvent);
  }
  return events;
}

/** The run's trace: whatever events it produced, even if it was stopped. */
function traceOf(o: RunOutcome, replay: string): ChromeTrace {
  const trace = toChromeTrace(eventsOf(o), {
    title: `dmabuf-lab ${o.info?.name ?? o.request.scenario} (seed ${o.request.seed})`,
    splats: o.splats,
    metadata: {
      scenario: o.info?.name ?? o.request.scenario,
      seed: o.request.seed,
      status: o.status,
      end: o.result?.end ?? null,
      replay,
    },
  });
  return trace;
}

/** Write the run's trace to `file` (whatever events the run produced, even if it was stopped). */
export function writeTrace(file: string, o: RunOutcome, replay: string): void {
  ensureDir(file);
  writeFileSync(file, chromeTraceJson(traceOf(o, replay)));
}

/** Write the self-contained HTML report of the run to `file`. */
export function writeReport(file: string, o: RunOutcome, replay: string): void {
  const r = o.result;
  const l = o.limits ?? r?.limits;
  const summary: [string, string][] = [
    [
      'scenario',
      `${o.info?.name ?? o.request.scenario}${o.info?.description ? ` - ${o.info.description}` : ''}`,
    ],
    ['seed', String(o.request.seed)],
    [
      'limits',
      l
        ? `max steps ${formatCount(l.maxSteps)}, max virtual time ${formatNs(l.maxVirtualTimeNs)}, wall-clock timeout ${o.timeoutMs / 1000} s`
        : '-',
    ],
    ['checkers', `lockdep ${o.lockdep ? 'on' : 'off'}, race detector + KASAN ${o.races ? 'on' : 'off'}`],
    [
      'result',
      r
        ? `${r.end} after ${formatCount(r.steps)} steps, virtual time ${formatNs(r.timeNs)}`
        : `${o.status} in ${o.progress.phase} at step ${formatCount(o.progress.steps)}`,
    ],
  ];
  if (o.info && o.verdict)
    summary.push([
      'expected',
      `${o.info.expected}: ${o.verdict.matches ? 'matches' : o.verdict.reason}`,
    ]);
  const problem = problemOf(o);
  if (problem) summary.push(['problem', problem]);
  for (const n of o.notes) summary.push(['note', n]);
  const html = toHtmlReport({
    title: `dmabuf-lab ${o.info?.name ?? o.request.scenario} (seed ${o.request.seed})`,
    summary,
    splats: o.splats,
    events: o.events ? eventsOf(o) : null,
    decisions: r?.decisions ?? [],
    replay,
    failure: r?.failure ?? null,
    stacksNote:
      r?.stacksNote ??
      'No backtraces: stack capture was off for this run (run it again with --stacks).',
  });
  ensureDir(file);
  writeFileSync(file, html);
}

/** Write the run as kernel trace text (`run --ftrace`): what `dmabuf-lab trace-check` reads. */
export function writeFtrace(file: string, events: readonly KernelEvent[], replay: string): void {
  ensureDir(file);
  writeFileSync(
    file,
    toFtraceText(events, `dmabuf-lab model run, virtual time as timestamps: ${replay}`),
  );
}
