/**
 * Folding task results into the exploration's result. The same function
 * serves one thread, a pool of workers and `merge` of shard files, so they
 * agree by construction: tasks are taken in task order (schedule order),
 * the run is cut where the exploration would have stopped (the first bug
 * with `--until first`, the schedule budget of the bounded search, the
 * first task a stop request cut short), and everything is counted up to
 * that cut only. The lockdep dependencies are accumulated here, in
 * schedule order, to find cycles that no single schedule closes.
 */
import { AccumulatedGraph } from './cross-schedule.ts';
import { pctGuarantee } from './pct.ts';
import type { Bug, ExploreResult, ExploreSettings, Occurrence, TaskResult } from './result.ts';
import { RESULT_VERSION } from './result.ts';

/** A bug's first occurrence in the folded result, to shrink and fill in. */
export interface FirstOccurrence {
  readonly key: string;
  readonly task: number;
  readonly occurrence: Occurrence;
}

/** The folded result and the first occurrences that have no shrunk form yet. */
export interface Folded {
  readonly result: ExploreResult;
  readonly firsts: readonly FirstOccurrence[];
  /** Position of the last schedule the result covers (-1: none). */
  readonly cut: number;
}

/** Fold `tasks` (any order, possibly a subset) of an exploration with `taskCount` tasks. */
export function foldTasks(
  scenario: { name: string; ref: string },
  settings: ExploreSettings,
  taskCount: number,
  tasks: readonly TaskResult[],
): Folded {
  const byIndex = new Map(tasks.map((t) => [t.task, t]));
  // The contiguous prefix of tasks, ending at the first that stopped early.
  const included: TaskResult[] = [];
  const offsets: number[] = [];
  let total = 0;
  let gap = false;
  for (let i = 0; i < taskCount; i++) {
    const t = byIndex.get(i);
    if (!t) {
      gap = true;
      break;
    }
    included.push(t);
    offsets.push(total);
    total += t.schedules;
    if (t.stoppedBy === 'stopped' || t.stoppedBy === 'bug') break;
    if (t.stoppedBy === 'budget' && total >= settings.schedules) break;
  }
  let cut = total - 1;
  let budgetCut = false;
  if (settings.strategy === 'dfs' && cut > settings.schedules - 1) {
    cut = settings.schedules - 1;
    budgetCut = true;
  }
  // The first schedule with a bug of its own.
  let firstBug = Number.POSITIVE_INFINITY;
  included.forEach((t, i) => {
    for (const b of t.bugs) firstBug = Math.min(firstBug, offsets[i]! + b.first.k);
  });
  const untilFirst = settings.until === 'first';
  if (untilFirst && firstBug <= cut) cut = firstBug;

  // Dependencies in schedule order; cycles only their union closes.
  const acc = new AccumulatedGraph(settings.seed);
  const cross = new Map<string, { position: number; schedules: readonly number[]; splat: Bug['splat'] }>();
  outer: for (let i = 0; i < included.length; i++) {
    for (const [edge, k] of included[i]!.edges) {
      const pos = offsets[i]! + k;
      if (pos > cut) break outer;
      const c = acc.add(edge, pos);
      if (c && !cross.has(c.key)) {
        cross.set(c.key, { position: pos, schedules: c.schedules, splat: c.splat });
        if (untilFirst && pos < cut) cut = pos;
      }
    }
  }
  const cutFirst = untilFirst && (firstBug <= cut || cross.size > 0) && Number.isFinite(cut);

  // Bugs: first occurrence and count up to the cut.
  interface Acc {
    key: string;
    rule: string;
    pos: number;
    task: number;
    occ: Occurrence;
    count: number;
  }
  const bugs = new Map<string, Acc>();
  included.forEach((t, i) => {
    const off = offsets[i]!;
    for (const b of t.bugs) {
      const pos = off + b.first.k;
      if (pos > cut) continue;
      let count = 0;
      for (const [start, len] of b.ranges) count += Math.max(0, Math.min(start + len, cut - off + 1) - start);
      const a = bugs.get(b.key);
      if (!a) bugs.set(b.key, { key: b.key, rule: b.rule, pos, task: t.task, occ: b.first, count });
      else {
        a.count += count;
        if (pos < a.pos) Object.assign(a, { pos, task: t.task, occ: b.first });
      }
    }
  });
  const out: Bug[] = [];
  const firsts: FirstOccurrence[] = [];
  for (const a of bugs.values()) {
    const x = cross.get(a.key);
    const crossFirst = x !== undefined && x.position < a.pos;
    out.push({
      key: a.key,
      rule: a.rule,
      headline: crossFirst ? x.splat.headline : a.occ.splat.headline,
      firstSchedule: crossFirst ? x.position : a.pos,
      schedules: a.count + (x !== undefined ? 1 : 0),
      splat: crossFirst ? x.splat : a.occ.splat,
      schedule: a.occ.schedule,
      sizes: a.occ.sizes,
      shrunk: a.occ.shrunk,
      acrossSchedules: crossFirst ? [...x.schedules] : null,
    });
    if (a.occ.shrunk === null) firsts.push({ key: a.key, task: a.task, occurrence: a.occ });
  }
  for (const [key, x] of cross) {
    if (bugs.has(key) || x.position > cut) continue;
    out.push({
      key,
      rule: 'lockdep.circular',
      headline: x.splat.headline,
      firstSchedule: x.position,
      schedules: 1,
      splat: x.splat,
      schedule: { seed: 0, decisions: [] },
      sizes: { deviations: 0, preemptions: 0, faults: 0, decisions: 0 },
      shrunk: null,
      acrossSchedules: [...x.schedules],
    });
  }
  out.sort((a, b) => a.firstSchedule - b.firstSchedule || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  // Counts up to the cut.
  let schedules = 0;
  let redundant = 0;
  let threads = 0;
  let steps = 0;
  const hashes = new Set<number>();
  // A redundant run recorded at k came after k counted schedules of its
  // task: after the last one only when nothing cut the exploration there.
  const redundantLimit = cutFirst || budgetCut ? cut : Number.POSITIVE_INFINITY;
  included.forEach((t, i) => {
    const off = offsets[i]!;
    schedules += Math.max(0, Math.min(t.schedules, cut - off + 1));
    for (const [k, n] of t.redundant) if (off + k <= redundantLimit) redundant += n;
    for (const [h, k] of t.hashes) if (off + k <= cut) hashes.add(h);
    for (const [k, n, s] of t.maxima) {
      if (off + k > cut) break;
      threads = Math.max(threads, n);
      steps = Math.max(steps, s);
    }
  });
  const allDone = !gap && included.length === taskCount && included.every((t) => t.stoppedBy === 'done');
  const exhausted = settings.strategy === 'dfs' && allDone && !cutFirst && !budgetCut;
  const stopped = included.some((t) => t.stoppedBy === 'stopped') || gap;
  const stoppedBy: ExploreResult['stoppedBy'] = cutFirst
    ? 'first-bug'
    : exhausted
      ? 'exhausted'
      : stopped && !budgetCut && schedules < settings.schedules
        ? 'stopped'
        : 'budget';
  const result: ExploreResult = {
    format: 'dmabuf-lab-explore-result',
    version: RESULT_VERSION,
    scenario: { name: scenario.name, ref: scenario.ref },
    settings,
    schedules,
    redundant,
    stoppedBy,
    exhausted,
    distinct: hashes.size,
    threads,
    steps,
    pctGuarantee: settings.strategy === 'pct' ? pctGuarantee(threads, steps, settings.depth) : null,
    dependencies: acc.dependencies,
    bugs: out,
  };
  return { result, firsts, cut };
}
