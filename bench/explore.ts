/**
 * The explorer's targets (issue 9), each measured in one run, in one process:
 *
 * - schedules per second on a race of 3 threads x 3 steps (each step: take
 *   a mutex, increment a shared counter, release; a scheduling point
 *   between steps; a check of the counter at the end), lockdep on, through
 *   `explore()` (random strategy), against fast-check's `fc.scheduler` on
 *   the same race with the same number of runs (target >= 3x), and
 *   against a minimal seeded cooperative scheduler written here (the
 *   language floor for this race; target >= 0.3x). The three do the same
 *   work: three async threads, a mutex with a wait list, a scheduling
 *   point before each lock and between steps, a random pick among the
 *   runnable threads at every point, the counter checked at the end.
 * - heap after 10^5 schedules against heap after the first 10^3 (target <= 1.1x);
 * - time from `explore()` to the first bug reported (shrunk), for each
 *   built-in scenario that splats (target < 100 ms).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { defineScenario, explore, ExploreCounters, listBuiltinScenarios } from '../src/explore/index.ts';
import type { Scenario } from '../src/explore/index.ts';
import { Mutex } from '../src/kernel/index.ts';
import type { BenchResult } from './result.ts';
import { median } from './result.ts';

const THREADS = 3;
const STEPS = 3;
const RUNS = 10_000;
const ROUNDS = 7;

/** The race as a scenario; the end check reports a splat if the counter is wrong. */
const race: Scenario = defineScenario({
  name: 'bench-race',
  description: '3 threads x 3 steps: lock, increment, unlock, yield',
  expect: { verdict: 'clean' },
  setup(k) {
    const m = new Mutex(k, 'counter_lock');
    let counter = 0;
    for (let i = 0; i < THREADS; i++) {
      k.kthreadRun(`t${i}`, async () => {
        for (let s = 0; s < STEPS; s++) {
          await m.lock();
          counter++;
          m.unlock();
          await k.schedulePoint('yield');
        }
      });
    }
    k.addEndCheck(() => {
      if (counter !== THREADS * STEPS) k.splat({ rule: 'bench.lost_update', severity: 'bug', headline: `counter ${counter}`, thread: null });
    });
  },
});

/** Our explorer: `runs` schedules of the race, random strategy. */
async function explorer(runs: number): Promise<number> {
  return explorerWith(runs, true);
}

/** The same with the race detector and KASAN off (`--no-races`): lockdep only, as the explorer's targets were first set. */
async function explorerNoRaces(runs: number): Promise<number> {
  return explorerWith(runs, false);
}

async function explorerWith(runs: number, races: boolean): Promise<number> {
  const r = await explore(race, { strategy: 'random', schedules: runs, until: 'all', races });
  if (r.bugs.length > 0 || r.schedules !== runs) throw new Error(`explorer: ${r.schedules} schedules, bugs ${r.bugs.map((b) => b.key).join(', ')}`);
  return r.schedules;
}

/** fast-check's scheduler on the same race: `runs` runs of one property. */
async function fastCheck(runs: number): Promise<number> {
  let done = 0;
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), async (s) => {
      let counter = 0;
      let held = false;
      const waiters: (() => void)[] = [];
      const lock = async (): Promise<void> => {
        await s.schedule(Promise.resolve());
        while (held) await new Promise<void>((r) => waiters.push(r));
        held = true;
      };
      const unlock = (): void => {
        held = false;
        waiters.shift()?.();
      };
      const thread = async (): Promise<void> => {
        for (let i = 0; i < STEPS; i++) {
          await lock();
          counter++;
          unlock();
          await s.schedule(Promise.resolve());
        }
      };
      await s.waitFor(Promise.all(Array.from({ length: THREADS }, thread)));
      if (counter !== THREADS * STEPS) throw new Error(`fast-check: counter ${counter}`);
      done++;
    }),
    { numRuns: runs },
  );
  return done;
}

/** The floor: a seeded cooperative scheduler in ~40 lines, same race. */
async function minimal(runs: number): Promise<number> {
  let seed = 1;
  for (let run = 0; run < runs; run++) {
    let x = (seed = (seed * 1103515245 + 12345) >>> 0) || 1;
    const rand = (n: number): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const runnable: (() => void)[] = [];
    let counter = 0;
    let held = false;
    let alive = THREADS;
    const waiters: (() => void)[] = [];
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    const next = (): void => {
      if (runnable.length === 0) {
        if (alive === 0) finish();
        return;
      }
      const i = rand(runnable.length);
      const go = runnable[i]!;
      runnable[i] = runnable[runnable.length - 1]!;
      runnable.pop();
      go();
    };
    const point = (): Promise<void> =>
      new Promise<void>((r) => {
        runnable.push(r);
        next();
      });
    const lock = async (): Promise<void> => {
      await point();
      while (held) {
        await new Promise<void>((r) => {
          waiters.push(() => runnable.push(r));
          next();
        });
      }
      held = true;
    };
    const unlock = (): void => {
      held = false;
      waiters.shift()?.();
    };
    const thread = async (): Promise<void> => {
      await new Promise<void>((r) => runnable.push(r));
      for (let i = 0; i < STEPS; i++) {
        await lock();
        counter++;
        unlock();
        await point();
      }
      alive--;
      next();
    };
    for (let t = 0; t < THREADS; t++) void thread();
    next();
    await finished;
    if (counter !== THREADS * STEPS) throw new Error(`minimal: counter ${counter}`);
  }
  return runs;
}

/** Runs per second of `fn` over `n` runs. */
async function rateOf(fn: (n: number) => Promise<number>, n: number): Promise<number> {
  const t0 = performance.now();
  const done = await fn(n);
  return (done / (performance.now() - t0)) * 1000;
}

/**
 * Schedules per second: explorer vs fast-check vs the minimal scheduler.
 * The machine is shared, so the three are measured in alternation, round
 * after round, and each ratio is the median of the per-round ratios (a
 * load change then hits both sides of a ratio alike).
 */
export async function benchExploreRace(): Promise<BenchResult[]> {
  for (const fn of [minimal, fastCheck, explorer, explorerNoRaces]) await fn(RUNS / 10); // warm-up
  const floor: number[] = [];
  const fcRates: number[] = [];
  const ours: number[] = [];
  const noRaces: number[] = [];
  const vsFc: number[] = [];
  const vsFloor: number[] = [];
  const noRacesVsFloor: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const m = await rateOf(minimal, RUNS);
    const f = await rateOf(fastCheck, RUNS);
    const e = await rateOf(explorer, RUNS);
    const n = await rateOf(explorerNoRaces, RUNS);
    floor.push(m);
    fcRates.push(f);
    ours.push(e);
    noRaces.push(n);
    vsFc.push(e / f);
    vsFloor.push(e / m);
    noRacesVsFloor.push(n / m);
  }
  const note = `median of ${ROUNDS} alternating rounds of ${RUNS / 1000}k runs`;
  return [
    { name: 'race 3x3: minimal seeded scheduler', value: median(floor), unit: 'schedules/s', note },
    { name: 'race 3x3: fast-check fc.scheduler', value: median(fcRates), unit: 'schedules/s', note },
    { name: 'race 3x3: explore() random, lockdep on, vs fast-check', value: median(ours), unit: 'schedules/s', baseline: median(fcRates), ratio: median(vsFc), note: `target ratio >= 3; ${note}` },
    { name: 'race 3x3: explore() random, lockdep on, vs minimal', value: median(ours), unit: 'schedules/s', baseline: median(floor), ratio: median(vsFloor), note: `target ratio >= 0.3; ${note}` },
    { name: 'race 3x3: explore() random, lockdep on, --no-races, vs minimal', value: median(noRaces), unit: 'schedules/s', baseline: median(floor), ratio: median(noRacesVsFloor), note: `the race detector's share of the cost; ${note}` },
  ];
}

function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Heap after 10^5 schedules of one exploration against the heap after its first 10^3. */
export async function benchExploreHeap(): Promise<BenchResult> {
  const gc = gcFunction();
  const counters = new ExploreCounters();
  const samples = new Map<number, number>();
  const marks = [1_000, 100_000];
  const sampler = setInterval(() => {
    const n = counters.schedules;
    for (const m of marks) {
      if (n >= m && !samples.has(m)) {
        gc();
        samples.set(m, process.memoryUsage().heapUsed);
      }
    }
  }, 0);
  await explore(race, { strategy: 'random', schedules: 100_000, until: 'all', counters });
  clearInterval(sampler);
  gc();
  const end = process.memoryUsage().heapUsed;
  const first = samples.get(1_000) ?? Number.NaN;
  const last = samples.get(100_000) ?? end;
  return {
    name: 'explore heap: after 10^5 schedules / after 10^3',
    value: last / first,
    unit: 'x',
    note: `target <= 1.1; ${(first / 1e6).toFixed(1)} MB after 10^3, ${(last / 1e6).toFixed(1)} MB after 10^5 (after GC)`,
  };
}

/** Time from explore() to the first bug (found and shrunk), for each built-in scenario that splats. */
export async function benchExploreFirstReport(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const b of await listBuiltinScenarios()) {
    if (!('scenario' in b) || b.scenario.expect.verdict !== 'splat') continue;
    const s = b.scenario;
    // The fault kinds the scenario's own kernel injects are the ones its bug needs.
    const rates = s.kernel?.faults;
    const faults = (['alloc', 'signal'] as const).filter((f) => rates?.[f]);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      let first = Number.NaN;
      await explore(s, {
        faults: [...faults],
        onBug: () => {
          if (Number.isNaN(first)) first = performance.now() - t0;
        },
      });
      times.push(first);
    }
    out.push({ name: `time to first report: ${s.name}`, value: median(times), unit: 'ms', note: `target < 100 ms (pct${faults.length ? `, --faults ${faults.join(',')}` : ''}, median of 3)` });
  }
  return out;
}
