/**
 * `dmabuf-lab explore <scenario>` and `dmabuf-lab merge <files...>`: search a
 * scenario's schedules and faults, print what was found (each bug once,
 * shrunk, with a replay command), save the shrunk schedules with their
 * trace and HTML report under `--trace-dir`, write shard files and merge
 * them. The exploration runs in this process (and its worker threads).
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { pc, pcErr } from './colors.ts';
import { Artefacts } from './artefacts.ts';
import { onInterrupt } from './interrupts.ts';
import { saveSchedule, scheduleScenario } from './schedule-file.ts';
import { WATCH_BEAT, WATCH_BYTES, WATCH_NAME_BYTES, WATCH_NAMES, WATCH_NAMES_AT, WATCH_SEED_F64, WATCH_TID } from './explore-protocol.ts';
import type { ExploreJob, ExploreMessage, ExploreStop } from './explore-protocol.ts';
import {
  bugKey,
  ExploreCounters,
  isScenarioPath,
  loadScenario,
  mergeShards,
  resolveSettings,
  resultJson,
  ScenarioError,
  workerStart,
} from '../explore/index.ts';
import type { Bug, ExploreOptions, ExploreResult, FaultKind, ShardFile } from '../explore/index.ts';
import { registerScenarioHook, scenarioHookPreload } from '../scenario/module-loading.ts';
import { showExploreProgress } from './explore-progress.ts';
import { displayPath, formatCount, formatNs, indent, plural, printError, printWarning, safe, safeLine, shellWord } from './format.ts';
import { Exit } from './exit.ts';
import { writeFtrace, writeReport, writeTrace } from './outputs.ts';
import { RunWorker } from './supervisor.ts';

/** Options of `explore` as commander parses them. */
export interface ExploreCliOptions {
  strategy: 'random' | 'pct' | 'dfs';
  schedules?: number;
  time?: number;
  until: 'first' | 'all';
  seed: number;
  depth: number;
  preemptions: number | null;
  reduction: 'sleep' | 'none';
  faults: FaultKind[];
  maxFaults: number;
  workers: number;
  shard?: { index: number; count: number };
  out?: string;
  json?: boolean;
  traceDir?: string;
  maxSteps?: number;
  maxTimeMs?: number;
  /** Wall-clock seconds one schedule may go without a scheduling step (default 60). */
  scheduleTimeout?: number;
  /** commander's negation of `--no-races`. */
  races?: boolean;
  /** commander's negation of `--no-lockdep`. */
  lockdep?: boolean;
}

/** How often the main thread looks at the exploration worker's watch. */
const WATCH_POLL_MS = 250;

/** A schedule that stopped yielding: where it was. */
interface Stuck {
  readonly seed: number;
  readonly thread: string | null;
  readonly seconds: number;
}

/** How the exploration worker ended. */
type Ended =
  | { kind: 'result'; result: ExploreResult }
  | { kind: 'shard'; shard: ShardFile }
  | { kind: 'error'; message: string }
  | { kind: 'stuck'; stuck: Stuck };

/**
 * Run the exploration in a worker thread and watch it: `stop` (Ctrl-C, the
 * --time budget) asks it to end with the result so far; a schedule that
 * makes no scheduling step for `stuckMs` (a thread looping in host code)
 * gets the worker terminated.
 */
function runWatched(job: ExploreJob, counters: ExploreCounters, stuckMs: number, onBug: (b: Bug) => void): { ended: Promise<Ended>; stop: () => void; kill: () => void } {
  const start = workerStart('./explore-worker.ts', import.meta.url, { data: job as unknown as Record<string, unknown> });
  const w = new Worker(start.filename, {
    workerData: start.workerData,
    ...(start.execArgv ? { execArgv: start.execArgv } : {}),
    stdout: true,
  });
  // A scenario's console output must not mix into --json on stdout.
  w.stdout.pipe(process.stderr);
  const beat = new Int32Array(job.watch, 0, 2);
  const seedSlot = new Float64Array(job.watch, 0, 2);
  const names = new Uint8Array(job.watch, WATCH_NAMES_AT, WATCH_NAMES * WATCH_NAME_BYTES);
  const ended = new Promise<Ended>((resolve) => {
    let settled = false;
    const finish = (e: Ended): void => {
      if (settled) return;
      settled = true;
      clearInterval(poll);
      void w.terminate();
      resolve(e);
    };
    let lastBeat = -1;
    let lastCount = -1;
    let lastAt = performance.now();
    const poll = setInterval(() => {
      const b = Atomics.load(beat, WATCH_BEAT);
      const c = counters.schedules;
      const now = performance.now();
      // Not started yet (loading the scenario, priming lockdep): nothing to watch.
      if (b === 0 || b !== lastBeat || c !== lastCount) {
        lastBeat = b;
        lastCount = c;
        lastAt = now;
        return;
      }
      if (now - lastAt < stuckMs) return;
      const tid = Atomics.load(beat, WATCH_TID);
      let thread: string | null = null;
      // With a pool the stuck schedule may be on a pool thread, whose threads this watch does not see: no name rather than a wrong one.
      if ((job.options.workers ?? 1) <= 1 && tid > 0 && tid < WATCH_NAMES) {
        const slot = names.subarray(tid * WATCH_NAME_BYTES, (tid + 1) * WATCH_NAME_BYTES);
        const end = slot.indexOf(0);
        thread = new TextDecoder().decode(end < 0 ? slot : slot.subarray(0, end)) || null;
      }
      finish({ kind: 'stuck', stuck: { seed: seedSlot[WATCH_SEED_F64]!, thread, seconds: Math.round((now - lastAt) / 1000) } });
    }, WATCH_POLL_MS);
    w.on('message', (m: ExploreMessage) => {
      switch (m.type) {
        case 'counters':
          counters.bugs = m.bugs;
          counters.distinct = m.distinct;
          counters.tasksDone = m.tasksDone;
          counters.tasks = m.tasks;
          break;
        case 'bug':
          onBug(m.bug);
          break;
        case 'result':
          finish({ kind: 'result', result: m.result });
          break;
        case 'shard':
          finish({ kind: 'shard', shard: m.shard });
          break;
        case 'error':
          finish({ kind: 'error', message: m.message });
          break;
      }
    });
    w.on('error', (e) => {
      finish({ kind: 'error', message: `the exploration worker failed: ${e instanceof Error ? e.message : String(e)}` });
    });
    w.on('exit', (code) => {
      finish({ kind: 'error', message: `the exploration worker exited with code ${code}` });
    });
  });
  return {
    ended,
    stop: () => {
      w.postMessage({ type: 'stop' } satisfies ExploreStop);
    },
    kill: () => {
      void w.terminate();
    },
  };
}

/** `dmabuf-lab explore`. Returns the exit code. */
export async function exploreCommand(ref: string, o: ExploreCliOptions): Promise<number> {
  registerScenarioHook();
  const counters = new ExploreCounters();
  const budgetMs = o.time !== undefined ? o.time * 1000 : null;
  const started = performance.now();
  const options: Omit<ExploreOptions, 'signal' | 'counters' | 'onBug' | 'watch'> = {
    strategy: o.strategy,
    until: o.until,
    seed: o.seed,
    depth: o.depth,
    preemptions: o.preemptions,
    reduction: o.reduction,
    faults: o.faults,
    maxFaults: o.maxFaults,
    workers: o.workers,
    // A file keeps the path as given (relative paths replay from the same directory, on any machine).
    ref,
    workerPreload: [scenarioHookPreload()],
    limits: {
      ...(o.maxSteps !== undefined ? { maxSteps: o.maxSteps } : {}),
      ...(o.maxTimeMs !== undefined ? { maxVirtualTimeNs: o.maxTimeMs * 1e6 } : {}),
    },
    ...(o.races === false ? { races: false } : {}),
    ...(o.lockdep === false ? { lockdep: false } : {}),
    // With only --time, the schedule budget is practically unbounded.
    schedules: o.schedules ?? (o.time !== undefined ? 2 ** 31 - 1 : 1000),
  };
  let settings;
  try {
    settings = resolveSettings(options);
  } catch (e) {
    return scenarioError(e);
  }
  const found: Bug[] = [];
  const job: ExploreJob = {
    ref: isScenarioPath(ref) ? resolve(ref) : ref,
    options,
    ...(o.shard ? { shard: o.shard } : {}),
    counter: counters.cells.buffer as SharedArrayBuffer,
    watch: new SharedArrayBuffer(WATCH_BYTES),
  };
  const scheduleTimeoutS = o.scheduleTimeout ?? 60;
  // The worker starts loading the scenario while this thread loads it too (for its name and load errors).
  const run = runWatched(job, counters, scheduleTimeoutS * 1000, (b) => found.push(b));
  let interrupted = false;
  const unhook = onInterrupt(() => {
    interrupted = true;
    run.stop();
  });
  let loaded;
  try {
    loaded = await loadScenario(ref);
  } catch (e) {
    unhook();
    run.kill();
    return scenarioError(e);
  }
  const { scenario } = loaded;
  const shown = loaded.builtin ? loaded.ref : displayPath(loaded.ref);
  if (!o.json) process.stderr.write(`${pcErr.dim(headerLine(scenario.name, settings, o, budgetMs))}\n`);
  const progress = showExploreProgress(
    scenario.name,
    counters,
    o.schedules !== undefined || budgetMs === null ? settings.schedules : null,
    budgetMs === null ? null : started + budgetMs,
  );
  const timer = budgetMs !== null ? setTimeout(() => { run.stop(); }, Math.max(0, budgetMs - (performance.now() - started))) : null;
  let ended: Ended;
  try {
    ended = await run.ended;
  } finally {
    progress.stop();
    if (timer) clearTimeout(timer);
  }
  const files = new Artefacts();
  const finalCode = (findings: boolean): number => {
    unhook();
    files.report();
    if (interrupted) return Exit.INTERRUPTED;
    if (!files.ok) return Exit.ERROR;
    return findings ? Exit.FINDINGS : Exit.OK;
  };
  if (ended.kind === 'error') {
    unhook();
    printError(ended.message);
    return interrupted ? Exit.INTERRUPTED : Exit.ERROR;
  }
  if (ended.kind === 'stuck') {
    const { stuck } = ended;
    if (o.json)
      process.stdout.write(`${JSON.stringify({ stoppedBy: 'schedule-timeout', stuck, schedules: counters.schedules, bugs: found }, null, 2)}\n`);
    else process.stdout.write(`${formatPartial(found, shown, counters.schedules)}\n`);
    printWarning(
      `${o.workers > 1 ? 'no schedule finished and' : `a schedule (kernel seed ${stuck.seed})`} made no scheduling step for ${stuck.seconds} s (--schedule-timeout ${scheduleTimeoutS})` +
        `${stuck.thread ? `: thread "${safeLine(stuck.thread)}" is` : ': a thread is'} stuck in host code (a loop with no kernel operation, or a call that never returns). ` +
        `The exploration stopped after ${plural(counters.schedules, 'schedule')}; no result file was written. Give that loop an await of a kernel operation, or raise --schedule-timeout.`,
      'limit:',
    );
    if (o.out !== undefined) printWarning(`--out ${o.out}: not written, the exploration did not finish`);
    unhook();
    return interrupted ? Exit.INTERRUPTED : Exit.FINDINGS;
  }
  if (ended.kind === 'shard') {
    const { shard } = ended;
    const file = resolve(o.out ?? `${scenario.name}.shard-${shard.shard.index}-of-${shard.shard.count}.json`);
    const wrote = files.write('shard file', file, () => { writeFile(file, resultJson(shard)); });
    const bugs = new Set(shard.tasks.flatMap((t) => t.bugs.map((b) => b.key)));
    const runs = shard.tasks.reduce((n, t) => n + t.schedules, 0);
    if (o.json) process.stdout.write(resultJson(shard));
    else {
      process.stdout.write(
        `shard ${shard.shard.index}/${shard.shard.count} of ${safeLine(scenario.name)}: ${plural(shard.tasks.length, 'task')} of ${shard.taskCount}${interrupted ? ' (interrupted: partial)' : ''}, ` +
          `${plural(runs, 'schedule')}, ${plural(bugs.size, 'distinct bug')}\n` +
          (wrote ? `wrote ${displayPath(file)}; combine the shards with: dmabuf-lab merge ${shellWord(`${scenario.name}.shard-*-of-${shard.shard.count}.json`)}\n` : ''),
      );
    }
    return finalCode(bugs.size > 0);
  }
  const { result } = ended;
  const wallMs = performance.now() - started;
  const saved = o.traceDir !== undefined ? await saveBugs(result, resolve(o.traceDir), files) : new Map<string, BugFiles>();
  if (o.out !== undefined) {
    const out = resolve(o.out);
    files.write('result', out, () => { writeFile(out, resultJson(result)); });
  }
  if (o.json) process.stdout.write(resultJson(result));
  else process.stdout.write(`${formatExplore(result, shown, saved, { wallMs }, interrupted)}\n`);
  return finalCode(result.bugs.length > 0);
}

/** The bugs an exploration reported before it was stopped from outside (no result object). */
function formatPartial(bugs: readonly Bug[], shown: string, schedules: number): string {
  const lines = bugs.map((b, i) => `${pc.red(`[bug ${i + 1}]`)} ${pc.bold(`[${safeLine(b.rule)}]`)} ${safeLine(b.headline)}\n    first on schedule ${b.firstSchedule}`);
  lines.push(`${plural(schedules, 'schedule')} run of ${safeLine(shown)}; ${bugs.length ? pc.red(plural(bugs.length, 'distinct bug')) : 'no bug'} before the exploration was stopped`);
  return lines.join('\n');
}

/** `dmabuf-lab merge`. Returns the exit code. */
export function mergeCommand(paths: string[], o: { json?: boolean; out?: string }): number {
  let result: ExploreResult;
  try {
    const inputs = paths.map((f) => {
      let text: string;
      try {
        text = readFileSync(resolve(f), 'utf8');
      } catch (e) {
        throw new Error(`merge: cannot read ${f}: ${(e as Error).message}`, { cause: e });
      }
      try {
        return { name: f, data: JSON.parse(text) as unknown };
      } catch (e) {
        throw new Error(`merge: ${f} is not JSON (${(e as Error).message}); give the files written by \`explore --shard i/n\`.`, { cause: e });
      }
    });
    result = mergeShards(inputs);
  } catch (e) {
    printError((e as Error).message);
    return Exit.ERROR;
  }
  const files = new Artefacts();
  if (o.out !== undefined) {
    const out = resolve(o.out);
    files.write('result', out, () => { writeFile(out, resultJson(result)); });
  }
  if (o.json) process.stdout.write(resultJson(result));
  else process.stdout.write(`${formatExplore(result, result.scenario.ref, new Map(), null)}\n`);
  files.report();
  if (!files.ok) return Exit.ERROR;
  return result.bugs.length > 0 ? Exit.FINDINGS : Exit.OK;
}

function scenarioError(e: unknown): number {
  if (e instanceof ScenarioError || e instanceof Error) {
    printError(e.message);
    return Exit.ERROR;
  }
  printError(String(e));
  return Exit.ERROR;
}

function writeFile(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

function headerLine(name: string, s: ReturnType<typeof resolveSettings>, o: ExploreCliOptions, budgetMs: number | null): string {
  const strategy =
    s.strategy === 'pct'
      ? `pct (depth ${s.depth})`
      : s.strategy === 'dfs'
        ? `dfs (${s.preemptions === null ? 'no preemption bound' : `at most ${plural(s.preemptions, 'preemption')}`}, ${s.reduction === 'sleep' ? 'sleep sets' : 'no reduction'})`
        : 'random';
  const budget = [o.schedules !== undefined || budgetMs === null ? `${formatCount(s.schedules)} schedules` : null, budgetMs !== null ? `${budgetMs / 1000} s` : null]
    .filter(Boolean)
    .join(' or ');
  const faults = s.faults.length ? `faults ${s.faults.join(',')} (at most ${s.maxFaults} per schedule)` : 'no faults (thread order only)';
  return `explore ${name}: strategy ${strategy}, seed ${s.seed}, budget ${budget}, until ${s.until === 'first' ? 'the first bug' : 'the budget ends'}, ${faults}` +
    (o.workers > 1 ? `, ${o.workers} workers` : '');
}

/** Files written for one bug. */
interface BugFiles {
  readonly schedule: string;
  readonly trace: string | null;
  readonly report: string | null;
  /** The schedule's run as kernel trace text (`run --ftrace`), for `trace-check`. */
  readonly ftrace: string | null;
  readonly replays: boolean;
  /** The bug's splat as the replay with stack capture reported it (with source sites). */
  readonly splat: Bug['splat'] | null;
}

/**
 * For each bug with a shrunk schedule: save the schedule, replay it with
 * stack capture on (so the report names source sites), write its Chrome
 * trace and HTML report, and check the replay shows the same bug.
 */
async function saveBugs(result: ExploreResult, dir: string, files: Artefacts): Promise<Map<string, BugFiles>> {
  const out = new Map<string, BugFiles>();
  const worker = new RunWorker({ timeoutMs: 60_000, progress: null, stdoutToStderr: true });
  // Ctrl-C while the bugs are replayed: stop the replay in flight, write what is known.
  let stop = false;
  const unhook = onInterrupt(() => {
    stop = true;
    worker.interrupt('interrupted');
  });
  const s = result.settings;
  const checkers = s.races === false || s.lockdep === false
    ? { checkers: { ...(s.lockdep === false ? { lockdep: false as const } : {}), ...(s.races === false ? { races: false as const } : {}) } }
    : {};
  try {
    let n = 0;
    for (const bug of result.bugs) {
      n++;
      if (!bug.shrunk) continue;
      const base = join(dir, `${result.scenario.name}.bug-${n}.${bug.rule}`);
      const schedulePath = `${base}.schedule.json`;
      const shrunk = bug.shrunk;
      const wrote = files.write('schedule', schedulePath, () => { saveSchedule(schedulePath, {
          scenario: scheduleScenario(schedulePath, result.scenario.ref, result.scenario.name),
          seed: shrunk.schedule.seed,
          ...(Object.keys(s.limits).length ? { limits: s.limits } : {}),
          ...checkers,
          decisions: shrunk.schedule.decisions,
        }); },
      );
      if (!wrote) break;
      if (stop) {
        out.set(bug.key, { schedule: schedulePath, trace: null, report: null, ftrace: null, replays: true, splat: null });
        continue;
      }
      const replay = `dmabuf-lab replay ${shellWord(displayPath(schedulePath))}`;
      const o = await worker.run({
        scenario: result.scenario.ref,
        seed: bug.shrunk.schedule.seed,
        decisions: bug.shrunk.schedule.decisions,
        trace: true,
        stacks: true,
        limits: s.limits,
        ...(s.races === false ? { races: false } : {}),
        ...(s.lockdep === false ? { lockdep: false } : {}),
      });
      let trace: string | null = null;
      let report: string | null = null;
      let ftrace: string | null = null;
      if (o.status === 'done') {
        const t = `${base}.trace.json`;
        const r = `${base}.report.html`;
        const f = `${base}.ftrace.txt`;
        if (files.write('trace', t, () => { writeTrace(t, o, replay); })) trace = t;
        if (files.write('report', r, () => { writeReport(r, o, replay); })) report = r;
        const events = o.events;
        if (events && files.write('ftrace', f, () => { writeFtrace(f, events, replay); })) ftrace = f;
      }
      const replayed = o.status === 'done' ? (o.splats.find((x) => bugKey(x) === bug.key) ?? null) : null;
      out.set(bug.key, { schedule: schedulePath, trace, report, ftrace, replays: stop || replayed !== null, splat: replayed });
    }
  } finally {
    unhook();
    await worker.close();
  }
  return out;
}

function sizesText(s: Bug['sizes']): string {
  return `${plural(s.deviations, 'deviation')} from the default order (${plural(s.preemptions, 'preemption')}, ${plural(s.faults, 'fault')}), ${plural(s.decisions, 'decision')}`;
}

/** The text summary of an exploration. */
export function formatExplore(r: ExploreResult, shown: string, files: ReadonlyMap<string, BugFiles>, timing: { wallMs: number } | null, interrupted = false): string {
  const s = r.settings;
  const lines: string[] = [];
  r.bugs.forEach((b, i) => {
    lines.push(`${pc.red(`[bug ${i + 1}]`)} ${pc.bold(`[${safeLine(b.rule)}]`)} ${safeLine(b.headline)}`);
    lines.push(
      `    first on schedule ${b.firstSchedule}${b.acrossSchedules ? ` (closing a cycle whose dependencies were seen on schedules ${b.acrossSchedules.join(', ')})` : ''}; ` +
        `shown by ${plural(b.schedules, 'schedule')} of ${formatCount(r.schedules)}`,
    );
    if (b.shrunk) {
      lines.push(`    shrunk from ${sizesText(b.shrunk.before)}`);
      lines.push(`             to ${sizesText(b.shrunk.after)}${b.shrunk.oneMinimal ? ', 1-minimal' : ''} (${plural(b.shrunk.runs, 'run')})`);
    }
    const f = files.get(b.key);
    const splat = f?.splat ?? b.shrunk?.splat ?? b.splat;
    if (splat.body) lines.push(indent(safe(splat.body), 4));
    if (f) {
      lines.push(`    replay: dmabuf-lab replay ${shellWord(displayPath(f.schedule))}${f.replays ? '' : pc.yellow('  (warning: the replay did not show this bug)')}`);
      if (f.report) lines.push(`    report: ${displayPath(f.report)}, trace: ${displayPath(f.trace!)}`);
      if (f.ftrace) lines.push(`    kernel trace text: ${displayPath(f.ftrace)} (dmabuf-lab trace-check ${shellWord(displayPath(f.ftrace))})`);
    } else if (b.shrunk) {
      lines.push(`    replay: add --trace-dir DIR to save the shrunk schedule, its trace and report: dmabuf-lab explore ${shellWord(shown)} ${flags(r)}`);
    }
    lines.push('');
  });
  const what =
    r.stoppedBy === 'exhausted'
      ? `all ${formatCount(r.schedules)} schedules${s.preemptions !== null ? ` with <= ${plural(s.preemptions, 'preemption')}` : ''}${s.faults.length ? ` and <= ${plural(s.maxFaults, 'fault')} (${s.faults.join(',')})` : ''} explored`
      : `${plural(r.schedules, 'schedule')} run`;
  const why =
    r.stoppedBy === 'first-bug' ? 'stopped at the first bug' : r.stoppedBy === 'stopped' ? (interrupted ? 'interrupted: the result covers the schedules run so far' : 'stopped by the time budget') : r.stoppedBy === 'budget' ? 'schedule budget used' : 'bounded space exhausted';
  const bugs = r.bugs.length ? pc.red(plural(r.bugs.length, 'distinct bug')) : pc.green('no bug');
  lines.push(`${what}; ${bugs} (${why})`);
  lines.push(
    `coverage: ${formatCount(r.distinct)} distinct schedules${r.redundant ? `, ${formatCount(r.redundant)} redundant runs cut short by sleep sets` : ''}; ` +
      `up to ${plural(r.threads, 'thread')} and ${formatCount(r.steps)} steps per schedule; ${formatCount(r.dependencies)} lock ${r.dependencies === 1 ? 'dependency' : 'dependencies'} accumulated`,
  );
  if (r.pctGuarantee !== null) {
    lines.push(
      `PCT guarantee: each schedule finds a bug of depth ${s.depth} with probability >= 1/(n*k^${s.depth - 1}) = ${r.pctGuarantee.toPrecision(3)} ` +
        `for n = ${r.threads} threads, k = ${formatCount(r.steps)} steps; over ${formatCount(r.schedules)} schedules: >= ${(1 - (1 - r.pctGuarantee) ** r.schedules).toPrecision(3)}`,
    );
  }
  if (timing) {
    lines.push(pc.dim(`time: ${formatNs(Math.round(timing.wallMs * 1e6))}, ${formatCount(Math.round(r.schedules / Math.max(timing.wallMs / 1000, 1e-3)))} schedules/s`));
  }
  return lines.join('\n');
}

function flags(r: ExploreResult): string {
  const s = r.settings;
  const out = [`--strategy ${s.strategy}`, `--seed ${s.seed}`, `--schedules ${s.schedules}`];
  if (s.strategy === 'pct') out.push(`--depth ${s.depth}`);
  if (s.strategy === 'dfs') out.push(`--preemptions ${s.preemptions ?? 'none'}`);
  if (s.faults.length) out.push(`--faults ${s.faults.join(',')}`);
  return `${out.join(' ')} --trace-dir out`;
}
