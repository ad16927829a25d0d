/**
 * `dmabuf-lab trace-check <file|->`: judge a real kernel trace of the
 * dma_fence and gpu_scheduler events with the rule book that judges runs,
 * print the findings (the run's splat format, with line numbers) and a
 * per-context / per-ring summary, and optionally write the same Perfetto
 * trace and HTML report a run writes. Exit codes as `run`.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  checkTraceFile,
  checkTraceStream,
  chromeTraceJson,
  toChromeTrace,
  toHtmlReport,
} from '../trace/index.ts';
import type { TraceCheckResult } from '../trace/index.ts';
import { Exit } from './exit.ts';
import { displayPath, formatCount, formatNs, indent, plural, printError, safe } from './format.ts';
import { fsReason } from './artefacts.ts';
import { pc, pcErr } from './colors.ts';

/** Options of `trace-check`. */
export interface TraceCheckCliOptions {
  json?: boolean;
  slowWait?: number;
  trace?: string;
  report?: string;
}

/** A trace timestamp as the kernel prints it: seconds with 6 decimals. */
function stamp(ns: number): string {
  return `${(ns / 1e9).toFixed(6)} s`;
}

function label(s: string): string {
  return pc.cyan(`${s}:`.padEnd(11));
}

function lat(ns: number | null): string {
  return ns === null ? '-' : formatNs(ns);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '),
    )
    .join('\n');
}

/** The summary tables: fences per context, jobs per ring. */
export function formatTables(r: TraceCheckResult): string {
  const out: string[] = [];
  if (r.contexts.length) {
    out.push(
      table([
        ['context', 'driver:timeline', 'fences', 'signalled', 'init→signal median', 'worst'],
        ...r.contexts.map((c) => [
          String(c.context),
          `${c.driver}:${c.timeline}`,
          String(c.fences),
          String(c.signalled),
          lat(c.initToSignalMedianNs),
          lat(c.initToSignalWorstNs),
        ]),
      ]),
    );
  }
  if (r.rings.length) {
    out.push(
      table([
        ['ring', 'jobs', 'queue→run median', 'worst', 'run→done median', 'worst'],
        ...r.rings.map((g) => [
          g.ring,
          String(g.jobs),
          lat(g.queueToRunMedianNs),
          lat(g.queueToRunWorstNs),
          lat(g.runToDoneMedianNs),
          lat(g.runToDoneWorstNs),
        ]),
      ]),
    );
  }
  return out.join('\n\n');
}

function exitOf(r: TraceCheckResult): number {
  return r.findings.some((s) => s.severity !== 'info') ? Exit.FINDINGS : Exit.OK;
}

function formatResult(shown: string, r: TraceCheckResult, outputs: string[]): string {
  const out: string[] = [pc.bold(`dmabuf-lab trace-check ${shown}`)];
  const fam = Object.entries(r.families)
    .map(([k, v]) => `${k} ${formatCount(v)}`)
    .join(', ');
  const widths = Object.entries(r.flagWidths)
    .filter(([w]) => w !== '0')
    .map(([w]) => `${w}-character flags`);
  out.push(
    `${label('format')}${r.format}${widths.length ? ` (${widths.join(', ')})` : ''}, ${plural(r.lines, 'line')}, ${plural(r.records, 'record')}${fam ? ` (${fam})` : ''}`,
  );
  out.push(
    `${label('time')}${stamp(r.startNs)} to ${stamp(r.endNs)} (${formatNs(Math.max(0, r.endNs - r.startNs))})`,
  );
  const unk = Object.entries(r.unknownEvents);
  if (unk.length)
    out.push(
      `${label('not read')}${unk
        .slice(0, 6)
        .map(([k, v]) => `${k} ${formatCount(v)}`)
        .join(
          ', ',
        )}${unk.length > 6 ? `, and ${unk.length - 6} more event types` : ''} (counted, not errors)`,
    );
  const w = r.window;
  out.push(
    `${label('window')}${plural(w.unknownOriginEvents, 'event')} of fences initialised before the trace, ${plural(w.unknownJobEvents, 'job event')} of jobs queued before it, ${plural(w.lost.length, 'gap')}, ${plural(w.pendingAtEnd, 'fence')} pending at the end`,
  );
  if (r.malformedCount) {
    out.push(`${label('malformed')}${plural(r.malformedCount, 'line')} skipped`);
    for (const m of r.malformed.slice(0, 10)) out.push(indent(`line ${m.line}: ${m.reason}`, 2));
    if (r.malformedCount > 10)
      out.push(indent(`... and ${r.malformedCount - 10} more (--json lists up to 1000)`, 2));
  }
  out.push(`${label('findings')}${r.findings.length === 0 ? 'none' : r.findings.length}`);
  for (const s of r.findings) {
    const colour = s.severity === 'info' ? pc.yellow : pc.red;
    out.push(indent(`${colour(`[${s.rule}]`)} ${s.headline}`, 2));
    if (s.body) out.push(indent(s.body, 6));
    const lines = (s.data?.lines as number[] | undefined) ?? [];
    out.push(
      indent(
        pc.dim(
          `thread ${s.thread ?? '-'}, time ${stamp(s.timeNs)}, line ${s.step}${lines.length > 1 ? ` (lines ${lines.join(', ')})` : ''}`,
        ),
        6,
      ),
    );
  }
  const tables = formatTables(r);
  if (tables) out.push(`${label('summary')}\n${indent(tables, 2)}`);
  for (const o of outputs) out.push(o);
  const serious = r.findings.filter((s) => s.severity !== 'info').length;
  out.push(
    `${label('verdict')}${serious ? pc.red(plural(serious, 'finding')) : pc.green('clean')}${r.findings.length > serious ? ` (${plural(r.findings.length - serious, 'warning')})` : ''}`,
  );
  return out.join('\n');
}

function ensureDir(file: string): void {
  mkdirSync(dirname(resolve(file)), { recursive: true });
}

/** `dmabuf-lab trace-check`. Returns the exit code. */
export async function traceCheckCommand(file: string, o: TraceCheckCliOptions): Promise<number> {
  const stdin = file === '-';
  const path = stdin ? null : resolve(file);
  if (path && (!existsSync(path) || !statSync(path).isFile())) {
    printError(
      `The trace file ${file} does not exist (or is not a file). Give a kernel trace (tracing/trace, trace_pipe, trace-cmd report, perf script, or a Perfetto text proto), or - for standard input.`,
    );
    return Exit.ERROR;
  }
  const collect = o.trace !== undefined || o.report !== undefined;
  let r: TraceCheckResult;
  try {
    const opts = { slowWaitNs: o.slowWait ?? null, collectEvents: collect };
    r = stdin ? await checkTraceStream(process.stdin, opts) : await checkTraceFile(path!, opts);
  } catch (e) {
    printError(`The trace ${file} could not be read: ${(e as Error).message}.`);
    return Exit.ERROR;
  }
  if (r.records === 0 && r.malformedCount > 0 && r.malformedCount === r.lines) {
    printError(
      `${file} does not look like a kernel trace: none of its ${plural(r.lines, 'line')} is a trace record (first: line ${r.malformed[0]!.line}: ${r.malformed[0]!.reason}). ` +
        'trace-check reads the text of tracing/trace or trace_pipe, `trace-cmd report`, `perf script`, and Perfetto text protos; convert a binary trace.dat with `trace-cmd report` and a Perfetto .pftrace with `traceconv text`.',
    );
    return Exit.ERROR;
  }
  const shown = stdin ? '-' : displayPath(path!);
  const outputs: string[] = [];
  const notes: string[] = [];
  // Requested files that could not be written: reported after the summary, exit 2.
  const unwritten: string[] = [];
  const title = `dmabuf-lab trace-check ${shown}`;
  const chrome =
    collect && r.events
      ? toChromeTrace(r.events, {
          title,
          splats: r.findings,
          spacingNs: 0,
          metadata: { trace: shown, format: r.format, command: title },
        })
      : null;
  let tracePath: string | null = null;
  if (o.trace !== undefined && chrome) {
    try {
      tracePath = resolve(o.trace);
      ensureDir(tracePath);
      writeFileSync(tracePath, chromeTraceJson(chrome));
      outputs.push(
        `${label('trace')}${displayPath(tracePath)} (open it in Perfetto UI, ui.perfetto.dev)`,
      );
    } catch (e) {
      unwritten.push(`cannot write the trace to ${o.trace}: ${fsReason(e)}.`);
      tracePath = null;
    }
  }
  let reportPath: string | null = null;
  if (o.report !== undefined) {
    try {
      reportPath = resolve(o.report);
      ensureDir(reportPath);
      const summary: [string, string][] = [
        ['trace', shown],
        ['format', `${r.format}, ${plural(r.lines, 'line')}, ${plural(r.records, 'record')}`],
        [
          'window',
          `${plural(r.window.unknownOriginEvents, 'event')} before a fence's init, ${plural(r.window.lost.length, 'gap')}, ${plural(r.window.pendingAtEnd, 'fence')} pending at the end`,
        ],
        [
          'malformed',
          r.malformedCount
            ? `${plural(r.malformedCount, 'line')} skipped (first: line ${r.malformed[0]!.line})`
            : 'none',
        ],
        ...r.contexts
          .slice(0, 50)
          .map((c): [string, string] => [
            `context ${c.context}`,
            `${c.driver}:${c.timeline}: ${c.fences} fences, init→signal median ${lat(c.initToSignalMedianNs)}, worst ${lat(c.initToSignalWorstNs)}`,
          ]),
        ...r.rings
          .slice(0, 50)
          .map((g): [string, string] => [
            `ring ${g.ring}`,
            `${g.jobs} jobs, queue→run median ${lat(g.queueToRunMedianNs)} (worst ${lat(g.queueToRunWorstNs)}), run→done median ${lat(g.runToDoneMedianNs)} (worst ${lat(g.runToDoneWorstNs)})`,
          ]),
      ];
      writeFileSync(
        reportPath,
        toHtmlReport({
          title,
          summary,
          splats: r.findings,
          events: r.events,
          decisions: [],
          replay: title,
        }),
      );
      outputs.push(`${label('report')}${displayPath(reportPath)} (open it in a browser)`);
    } catch (e) {
      unwritten.push(`cannot write the report to ${o.report}: ${fsReason(e)}.`);
      reportPath = null;
    }
  }
  const code = unwritten.length ? Exit.ERROR : exitOf(r);
  if (o.json) {
    const { events: _events, ...rest } = r;
    process.stdout.write(
      `${JSON.stringify({ command: 'trace-check', file: shown, ...rest, trace: tracePath, report: reportPath, warnings: notes, exitCode: code }, null, 2)}\n`,
    );
  } else {
    // A trace file is input from elsewhere: its names reach the terminal escaped.
    process.stdout.write(`${safe(formatResult(shown, r, outputs))}\n`);
  }
  for (const n of notes) process.stderr.write(`${pcErr.yellow('warning:')} ${safe(n)}\n`);
  for (const u of unwritten) printError(u);
  return code;
}
