/**
 * `dmabuf-lab check` (and `npm start`): run every built-in scenario, with
 * several seeds where the expectation says "some seeds", print one line per
 * scenario with its expected and actual verdict, write the trace of the
 * flagship scenario, and fail if any verdict differs.
 */
import { join, resolve } from 'node:path';
import { pc } from './colors.ts';
import { Artefacts } from './artefacts.ts';
import { onInterrupt } from './interrupts.ts';
import { combineVerdicts, describeExpectation, listBuiltinScenarios } from '../scenario/index.ts';
import type { Expectation, Scenario, Verdict } from '../scenario/index.ts';
import { formatFolded, formatReportStack } from '../kernel/index.ts';
import { displayPath, safe, safeLine } from './format.ts';
import { writeReport, writeTrace } from './outputs.ts';
import { progressSink } from './progress.ts';
import { Exit } from './exit.ts';
import { problemOf } from './summary.ts';
import { RunWorker } from './supervisor.ts';
import type { RunOutcome } from './supervisor.ts';

/** Options of `dmabuf-lab check`. */
export interface CheckOptions {
  json?: boolean;
  seeds: number;
  traceDir: string;
  timeout: number;
  /** false: run without the race detector and KASAN. */
  races?: boolean;
  /** false: run without lockdep. */
  lockdep?: boolean;
  /** Print only the scenarios that differ, and the total. */
  quiet?: boolean;
}

/** The scenario whose trace `check` writes, when it exists. */
export const FLAGSHIP = 'vfio-flr-revoke';

interface SeedRun {
  seed: number;
  status: RunOutcome['status'];
  end: string | null;
  verdict: Verdict | null;
  steps: number;
  problem: string | null;
  /** For a run whose verdict differs: what it reported first and where (backtrace lines). */
  where: string[] | null;
}

interface ScenarioLine {
  name: string;
  file: string;
  expected: string;
  actual: string;
  matches: boolean;
  runs: SeedRun[];
  error?: string;
}

function seedsFor(expect: Expectation, n: number): number[] {
  const many = expect.verdict === 'splat' && expect.seeds !== undefined;
  return Array.from({ length: many ? n : 1 }, (_, i) => i + 1);
}

/** `clean`, `sched.deadlock`, `limit (step-limit)`, `error: ...` for one run. */
function actualOf(r: SeedRun): string {
  if (!r.verdict) return `error: ${(r.problem ?? r.status).split('\n')[0]}`;
  switch (r.verdict.actual) {
    case 'clean':
      return 'clean';
    case 'splat':
      return r.verdict.rules.filter((x) => x !== 'run.limit').join(', ');
    case 'limit':
      return `limit (${r.end ?? '?'})`;
    case 'error':
      return `error: ${r.verdict.reason}`;
  }
}

/** Group seeds by what they showed: `sched.deadlock (seeds 2,3); clean (seeds 1,4)`. */
function describeRuns(runs: SeedRun[]): string {
  if (runs.length === 1) return actualOf(runs[0]!);
  const groups = new Map<string, number[]>();
  for (const r of runs) {
    const a = actualOf(r);
    groups.set(a, [...(groups.get(a) ?? []), r.seed]);
  }
  return [...groups]
    .map(([a, seeds]) => `${a} (seed${seeds.length > 1 ? 's' : ''} ${seeds.join(',')})`)
    .join('; ');
}

/** `dmabuf-lab check`. Returns the exit code. */
export async function checkCommand(opts: CheckOptions): Promise<number> {
  const all = await listBuiltinScenarios();
  const loaded = all.filter((b): b is { file: string; scenario: Scenario } => 'scenario' in b);
  const traced = loaded.find((b) => b.scenario.name === FLAGSHIP) ?? loaded[0];
  const worker = new RunWorker({
    timeoutMs: opts.timeout * 1000,
    progress: progressSink(),
    stdoutToStderr: opts.json ?? false,
  });
  const lines: ScenarioLine[] = [];
  const files = new Artefacts();
  // Ctrl-C / SIGTERM: stop the run in flight, skip the rest, print what was checked.
  let interrupted = false;
  const unhook = onInterrupt((signal) => {
    interrupted = true;
    worker.interrupt(`interrupted by ${signal}`);
  });
  let tracePath: string | null = null;
  let reportPath: string | null = null;
  const width = Math.max(
    12,
    ...all.map((b) => ('scenario' in b ? b.scenario.name : b.file).length),
  );

  for (const b of all) {
    if (interrupted) break;
    if (!('scenario' in b)) {
      const line: ScenarioLine = {
        name: b.file,
        file: b.file,
        expected: '?',
        actual: 'does not load',
        matches: false,
        runs: [],
        error: b.error.message,
      };
      lines.push(line);
      if (!opts.json) printLine(line, width, opts.quiet);
      continue;
    }
    const s = b.scenario;
    const runs: SeedRun[] = [];
    for (const seed of seedsFor(s.expect, opts.seeds)) {
      if (interrupted) break;
      const trace = b === traced && seed === 1;
      const o = await worker.run({
        scenario: b.file,
        seed,
        trace,
        stacks: false,
        // Locate what a scenario reports only when it is not what it expects.
        restack: 'on-mismatch',
        restackWithinMs: (opts.timeout * 1000) / 30,
        limits: {},
        ...(opts.races === false ? { races: false } : {}),
        ...(opts.lockdep === false ? { lockdep: false } : {}),
      });
      // A run stopped by Ctrl-C has no verdict: it is not counted.
      if (o.stoppedBy === 'signal') break;
      runs.push({
        seed,
        status: o.status,
        end: o.result?.end ?? null,
        verdict: o.verdict,
        steps: o.progress.steps,
        problem: problemOf(o),
        where: o.verdict && !o.verdict.matches ? locate(o, s.expect) : null,
      });
      if (trace) {
        const t = resolve(join(opts.traceDir, `${s.name}.trace.json`));
        const r = resolve(join(opts.traceDir, `${s.name}.report.html`));
        if (files.write('trace', t, () => { writeTrace(t, o, `dmabuf-lab run ${s.name} --seed ${seed}`); })) tracePath = t;
        if (files.write('report', r, () => { writeReport(r, o, `dmabuf-lab run ${s.name} --seed ${seed}`); })) reportPath = r;
      }
    }
    if (runs.length === 0) break;
    const verdicts = runs.flatMap((r) => (r.verdict ? [r.verdict] : []));
    const matches = verdicts.length === runs.length && combineVerdicts(verdicts, s.expect);
    const line: ScenarioLine = {
      name: s.name,
      file: b.file,
      expected: describeExpectation(s.expect),
      actual: describeRuns(runs),
      matches,
      runs,
    };
    lines.push(line);
    if (!opts.json) printLine(line, width, opts.quiet);
  }
  unhook();
  await worker.close();

  const differ = lines.filter((l) => !l.matches);
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ ok: differ.length === 0, interrupted, scenarios: lines, trace: tracePath, report: reportPath, ...(files.ok ? {} : { unwritten: files.failures }) }, null, 2)}\n`,
    );
  } else {
    const summary = `${lines.length} scenarios${interrupted ? ` checked before the interrupt (of ${all.length})` : ''}: ${lines.length - differ.length} as expected, ${differ.length} differ`;
    process.stdout.write(`\n${differ.length ? pc.red(summary) : pc.green(summary)}\n`);
    if (tracePath)
      process.stdout.write(
        `trace of ${traced!.scenario.name}: ${displayPath(tracePath)} (open it in Perfetto UI, ui.perfetto.dev)\n`,
      );
    if (reportPath)
      process.stdout.write(
        `report of ${traced!.scenario.name}: ${displayPath(reportPath)} (open it in a browser)\n`,
      );
    for (const l of differ) {
      const why = l.error ?? l.runs.find((r) => r.problem)?.problem;
      if (why) process.stdout.write(`\n${pc.red(safeLine(l.name))}: ${safe(why)}\n`);
      const where = l.runs.find((r) => r.where)?.where;
      if (where)
        process.stdout.write(
          `${why ? '' : `\n${pc.red(safeLine(l.name))}:\n`}${where.map((w) => `  ${safe(w)}`).join('\n')}\n`,
        );
    }
  }
  files.report();
  if (interrupted) return Exit.INTERRUPTED;
  if (!files.ok) return Exit.ERROR;
  return differ.length === 0 && lines.length > 0 ? Exit.OK : Exit.FINDINGS;
}

/**
 * What a mismatching run reported first that was not expected, and where:
 * the thread error's throw site, or the first unexpected splat's headline and
 * first backtrace (present when the worker replayed the run with stacks).
 */
function locate(o: RunOutcome, expect: Expectation): string[] | null {
  const f = o.result?.failure;
  if (f?.stack?.length)
    return [`thrown: ${f.message}`, ...formatFolded(f.stack).map((l) => `  ${l}`)];
  const expected = expect.verdict === 'splat' ? expect.rules : [];
  const s = o.splats.find(
    (x) => x.severity !== 'info' && x.rule !== 'run.limit' && !expected.includes(x.rule),
  );
  if (!s) return o.result?.stacksNote ? [o.result.stacksNote] : null;
  const first = s.stacks?.[0];
  return [
    `[${s.rule}] ${s.headline}`,
    ...(first
      ? formatReportStack(first)
          .split('\n')
          .map((l) => `  ${l}`)
      : []),
    ...(o.result?.stacksNote ? [o.result.stacksNote] : []),
  ];
}

function printLine(l: ScenarioLine, width: number, quiet = false): void {
  if (quiet && l.matches) return;
  const mark = l.matches ? pc.green('ok  ') : pc.red('FAIL');
  process.stdout.write(
    `${mark} ${safeLine(l.name).padEnd(width)}  expected ${safeLine(l.expected).padEnd(34)}  got ${safeLine(l.actual)}\n`,
  );
}
