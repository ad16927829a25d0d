/**
 * `dmabuf-lab explore <scenario>` and `dmabuf-lab merge <files...>`: search a
 * scenario's schedules and faults, print what was found (each bug once,
 * shrunk, with a replay command), save the shrunk schedules with their
 * trace and HTML report under `--trace-dir`, write shard files and merge
 * them. The exploration runs in this process (and its worker threads).
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import pc from 'picocolors';
import {
  bugKey,
  explore,
  ExploreCounters,
  exploreShard,
  isScenarioPath,
  loadScenario,
  mergeShards,
  resolveSettings,
  resultJson,
  ScenarioError,
} from '../explore/index.ts';
import type { Bug, ExploreOptions, ExploreResult, FaultKind } from '../explore/index.ts';
import { registerScenarioHook, scenarioHookPreload } from './esm-hook.ts';
import { showExploreProgress } from './explore-progress.ts';
import { displayPath, formatCount, formatNs, indent, plural, printError, shellWord } from './format.ts';
import { Exit } from './exit.ts';
import { saveSchedule, writeReport, writeTrace } from './outputs.ts';
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
}

/** `dmabuf-lab explore`. Returns the exit code. */
export async function exploreCommand(ref: string, o: ExploreCliOptions): Promise<number> {
  registerScenarioHook();
  let loaded;
  try {
    loaded = await loadScenario(ref);
  } catch (e) {
    return scenarioError(e);
  }
  const { scenario } = loaded;
  const shown = loaded.builtin ? loaded.ref : displayPath(loaded.ref);
  // A file keeps the path as given (relative paths replay from the same directory, on any machine).
  const resultRef = isScenarioPath(ref) ? ref : loaded.ref;
  const counters = new ExploreCounters();
  const abort = new AbortController();
  const budgetMs = o.time !== undefined ? o.time * 1000 : null;
  const started = performance.now();
  const timer = budgetMs !== null ? setTimeout(() => { abort.abort(); }, budgetMs) : null;
  timer?.unref();
  const options: ExploreOptions = {
    strategy: o.strategy,
    until: o.until,
    seed: o.seed,
    depth: o.depth,
    preemptions: o.preemptions,
    reduction: o.reduction,
    faults: o.faults,
    maxFaults: o.maxFaults,
    workers: o.workers,
    ref: resultRef,
    signal: abort.signal,
    counters,
    workerPreload: [scenarioHookPreload()],
    limits: {
      ...(o.maxSteps !== undefined ? { maxSteps: o.maxSteps } : {}),
      ...(o.maxTimeMs !== undefined ? { maxVirtualTimeNs: o.maxTimeMs * 1e6 } : {}),
    },
    // With only --time, the schedule budget is practically unbounded.
    schedules: o.schedules ?? (o.time !== undefined ? 2 ** 31 - 1 : 1000),
  };
  const settings = resolveSettings(options);
  if (!o.json) process.stderr.write(`${pc.dim(headerLine(scenario.name, settings, o, budgetMs))}\n`);
  const progress = showExploreProgress(
    scenario.name,
    counters,
    o.schedules !== undefined || budgetMs === null ? settings.schedules : null,
    budgetMs === null ? null : started + budgetMs,
  );
  let result: ExploreResult;
  try {
    if (o.shard) {
      const shard = await exploreShard(scenario, o.shard, options);
      progress.stop();
      const file = resolve(o.out ?? `${scenario.name}.shard-${o.shard.index}-of-${o.shard.count}.json`);
      writeFile(file, resultJson(shard));
      const bugs = new Set(shard.tasks.flatMap((t) => t.bugs.map((b) => b.key)));
      const runs = shard.tasks.reduce((n, t) => n + t.schedules, 0);
      if (o.json) process.stdout.write(resultJson(shard));
      else {
        process.stdout.write(
          `shard ${o.shard.index}/${o.shard.count} of ${scenario.name}: ${plural(shard.tasks.length, 'task')} of ${shard.taskCount}, ` +
            `${plural(runs, 'schedule')}, ${plural(bugs.size, 'distinct bug')}\n` +
            `wrote ${displayPath(file)}; combine the shards with: dmabuf-lab merge ${shellWord(`${scenario.name}.shard-*-of-${o.shard.count}.json`)}\n`,
        );
      }
      return bugs.size > 0 ? Exit.FINDINGS : Exit.OK;
    }
    result = await explore(scenario, options);
  } catch (e) {
    progress.stop();
    return scenarioError(e);
  } finally {
    progress.stop();
    if (timer) clearTimeout(timer);
  }
  const wallMs = performance.now() - started;
  const files = o.traceDir !== undefined ? await saveBugs(result, resolve(o.traceDir)) : new Map<string, BugFiles>();
  if (o.out !== undefined) writeFile(resolve(o.out), resultJson(result));
  if (o.json) process.stdout.write(resultJson(result));
  else process.stdout.write(`${formatExplore(result, shown, files, { wallMs })}\n`);
  return result.bugs.length > 0 ? Exit.FINDINGS : Exit.OK;
}

/** `dmabuf-lab merge`. Returns the exit code. */
export function mergeCommand(files: string[], o: { json?: boolean; out?: string }): number {
  let result: ExploreResult;
  try {
    const inputs = files.map((f) => {
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
  if (o.out !== undefined) writeFile(resolve(o.out), resultJson(result));
  if (o.json) process.stdout.write(resultJson(result));
  else process.stdout.write(`${formatExplore(result, result.scenario.ref, new Map(), null)}\n`);
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
  readonly replays: boolean;
  /** The bug's splat as the replay with stack capture reported it (with source sites). */
  readonly splat: Bug['splat'] | null;
}

/**
 * For each bug with a shrunk schedule: save the schedule, replay it with
 * stack capture on (so the report names source sites), write its Chrome
 * trace and HTML report, and check the replay shows the same bug.
 */
async function saveBugs(result: ExploreResult, dir: string): Promise<Map<string, BugFiles>> {
  const out = new Map<string, BugFiles>();
  const worker = new RunWorker({ timeoutMs: 60_000, progress: null, stdoutToStderr: true });
  try {
    let n = 0;
    for (const bug of result.bugs) {
      n++;
      if (!bug.shrunk) continue;
      const base = join(dir, `${result.scenario.name}.bug-${n}.${bug.rule}`);
      const schedulePath = `${base}.schedule.json`;
      saveSchedule(schedulePath, {
        scenario: result.scenario.ref,
        seed: bug.shrunk.schedule.seed,
        limits: result.settings.limits,
        decisions: bug.shrunk.schedule.decisions,
      });
      const replay = `dmabuf-lab replay ${shellWord(displayPath(schedulePath))}`;
      const o = await worker.run({
        scenario: result.scenario.ref,
        seed: bug.shrunk.schedule.seed,
        decisions: bug.shrunk.schedule.decisions,
        trace: true,
        stacks: true,
        limits: result.settings.limits,
      });
      let trace: string | null = null;
      let report: string | null = null;
      if (o.status === 'done') {
        trace = `${base}.trace.json`;
        report = `${base}.report.html`;
        writeTrace(trace, o, replay);
        writeReport(report, o, replay);
      }
      const replayed = o.status === 'done' ? (o.splats.find((s) => bugKey(s) === bug.key) ?? null) : null;
      out.set(bug.key, { schedule: schedulePath, trace, report, replays: replayed !== null, splat: replayed });
    }
  } finally {
    await worker.close();
  }
  return out;
}

function sizesText(s: Bug['sizes']): string {
  return `${plural(s.deviations, 'deviation')} from the default order (${plural(s.preemptions, 'preemption')}, ${plural(s.faults, 'fault')}), ${plural(s.decisions, 'decision')}`;
}

/** The text summary of an exploration. */
export function formatExplore(r: ExploreResult, shown: string, files: ReadonlyMap<string, BugFiles>, timing: { wallMs: number } | null): string {
  const s = r.settings;
  const lines: string[] = [];
  r.bugs.forEach((b, i) => {
    lines.push(`${pc.red(`[bug ${i + 1}]`)} ${pc.bold(`[${b.rule}]`)} ${b.headline}`);
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
    if (splat.body) lines.push(indent(splat.body, 4));
    if (f) {
      lines.push(`    replay: dmabuf-lab replay ${shellWord(displayPath(f.schedule))}${f.replays ? '' : pc.yellow('  (warning: the replay did not show this bug)')}`);
      if (f.report) lines.push(`    report: ${displayPath(f.report)}, trace: ${displayPath(f.trace!)}`);
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
    r.stoppedBy === 'first-bug' ? 'stopped at the first bug' : r.stoppedBy === 'stopped' ? 'stopped by the time budget' : r.stoppedBy === 'budget' ? 'schedule budget used' : 'bounded space exhausted';
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
