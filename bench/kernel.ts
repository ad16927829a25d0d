/**
 * Kernel scheduling-point rate: a ring ping-pong of N simulated threads
 * (each wakes the next and blocks; one step per hand-off) next to the same
 * ring built from bare async functions and promises, measured in the same
 * process: the language's floor. Also the ring with tracing on (an event
 * listener collecting every event), and N threads that all stay runnable so
 * the chooser picks among them at every step.
 */
import { RaceDetector } from '../src/check/index.ts';
import { KCell, Kernel, readOnce, writeOnce } from '../src/kernel/index.ts';
import type { Blocker, KernelEvent, Thread } from '../src/kernel/index.ts';
import type { BenchResult } from './result.ts';
import { median, timeMs } from './result.ts';

const HANDOFFS = 300_000;
/** Traced runs keep every event in memory; shorter runs keep that cost per event, not GC of a huge heap. */
const HANDOFFS_TRACED = 30_000;
const REPEATS = 5;

const idle: Blocker = { describe: () => 'ping-pong turn', owners: () => [] };

/** N kernel threads passing a token round a ring; returns steps taken. */
async function kernelRing(n: number, handoffs: number, trace: boolean): Promise<number> {
  const k = new Kernel({ seed: 1, limits: { maxSteps: handoffs * 2 + 1000 } });
  if (trace) {
    const events: KernelEvent[] = [];
    k.events.on((e) => {
      events.push(e);
    });
  }
  const rounds = Math.ceil(handoffs / n);
  const turn: boolean[] = Array.from({ length: n }, (_, i) => i === 0);
  const threads: Thread[] = [];
  for (let i = 0; i < n; i++) {
    threads.push(
      k.kthreadRun(`p${i}`, async (self) => {
        for (let r = 0; r < rounds; r++) {
          while (!turn[i]) await k.block(self, idle, 'pingpong');
          turn[i] = false;
          const next = (i + 1) % n;
          turn[next] = true;
          k.wake(threads[next]!);
        }
      }),
    );
  }
  const res = await k.run();
  if (res.end !== 'completed') throw new Error(`ring ended ${res.end}`);
  return res.steps;
}

/**
 * The ring with its turn flags in instrumented memory (`KCell`), with or
 * without the race detector and KASAN installed: the same code either way,
 * so the ratio is the checkers' cost. Every hand-off is a wake-up (a
 * happens-before edge) and three checked accesses: the flag a thread polls
 * while another may set it is READ_ONCE / WRITE_ONCE (plain, it is a data
 * race, and the detector says so), its own flag is cleared with a plain
 * store.
 */
async function kernelRingCells(n: number, handoffs: number, races: boolean): Promise<number> {
  const hb = races ? new RaceDetector() : null;
  const k = new Kernel({ seed: 1, limits: { maxSteps: handoffs * 2 + 1000 }, hb });
  hb?.attach(k);
  const rounds = Math.ceil(handoffs / n);
  const turn = Array.from({ length: n }, (_, i) => new KCell(k, `turn[${i}]`, i === 0));
  const threads: Thread[] = [];
  for (let i = 0; i < n; i++) {
    threads.push(
      k.kthreadRun(`p${i}`, async (self) => {
        for (let r = 0; r < rounds; r++) {
          while (!readOnce(turn[i]!)) await k.block(self, idle, 'pingpong');
          turn[i]!.value = false;
          const next = (i + 1) % n;
          writeOnce(turn[next]!, true);
          k.wake(threads[next]!);
        }
      }),
    );
  }
  const res = await k.run();
  if (res.end !== 'completed') throw new Error(`ring ended ${res.end}`);
  if (hb && hb.reports > 0) throw new Error(`the race detector reported ${hb.reports} problems in a correct ring`);
  return res.steps;
}

/** The same ring with bare async functions and promises; returns hand-offs. */
async function bareRing(n: number, handoffs: number): Promise<number> {
  const rounds = Math.ceil(handoffs / n);
  const gates: ((() => void) | null)[] = Array.from({ length: n }, () => null);
  const turn: boolean[] = Array.from({ length: n }, (_, i) => i === 0);
  let count = 0;
  const body = async (i: number): Promise<void> => {
    for (let r = 0; r < rounds; r++) {
      while (!turn[i]) {
        await new Promise<void>((res) => {
          gates[i] = res;
        });
      }
      turn[i] = false;
      const next = (i + 1) % n;
      turn[next] = true;
      count++;
      const g = gates[next];
      gates[next] = null;
      g?.();
    }
  };
  await Promise.all(Array.from({ length: n }, (_, i) => body(i)));
  return count;
}

/** N threads that yield at every step; the chooser picks among all of them. */
async function kernelYield(n: number, steps: number): Promise<number> {
  const k = new Kernel({ seed: 1 });
  const per = Math.ceil(steps / n);
  for (let i = 0; i < n; i++) {
    k.kthreadRun(`y${i}`, async () => {
      for (let j = 0; j < per; j++) await k.schedulePoint('yield');
    });
  }
  return (await k.run()).steps;
}

async function rate(fn: () => Promise<number>): Promise<number> {
  await fn(); // warm-up
  const rates: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    let units = 0;
    const ms = await timeMs(async () => {
      units = await fn();
    });
    rates.push((units / ms) * 1000);
  }
  return median(rates);
}

/**
 * Two rates measured alternately (a, b, a, b, ...), medians of each: on a
 * loaded machine the load then hits both sides alike, so their ratio holds.
 */
async function ratePair(a: () => Promise<number>, b: () => Promise<number>): Promise<[number, number]> {
  await a();
  await b();
  const ra: number[] = [];
  const rb: number[] = [];
  for (let i = 0; i < 2 * REPEATS - 1; i++) {
    for (const [fn, out] of [
      [a, ra],
      [b, rb],
    ] as const) {
      let units = 0;
      const ms = await timeMs(async () => {
        units = await fn();
      });
      out.push((units / ms) * 1000);
    }
  }
  return [median(ra), median(rb)];
}

/** Scheduling points per second, kernel vs bare, N = 2, 4, 16. */
export async function benchKernelPingPong(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const n of [2, 4, 16]) {
    const bare = await rate(() => bareRing(n, HANDOFFS));
    const off = await rate(() => kernelRing(n, HANDOFFS, false));
    const on = await rate(() => kernelRing(n, HANDOFFS_TRACED, true));
    out.push({ name: `bare async ring, ${n} functions`, value: bare, unit: 'hand-offs/s' });
    out.push({
      name: `kernel ring, ${n} threads, tracing off`,
      value: off,
      unit: 'steps/s',
      baseline: bare,
      ratio: off / bare,
      note: 'target ratio >= 0.5',
    });
    out.push({
      name: `kernel ring, ${n} threads, tracing on`,
      value: on,
      unit: 'steps/s',
      baseline: bare,
      ratio: on / bare,
      note: `events kept in memory, ${HANDOFFS_TRACED / 1000}k steps per run`,
    });
  }
  for (const n of [2, 16]) {
    const [off, on] = await ratePair(
      () => kernelRingCells(n, HANDOFFS, false),
      () => kernelRingCells(n, HANDOFFS, true),
    );
    out.push({
      name: `kernel ring, ${n} threads, instrumented turn flags, race detector + KASAN on`,
      value: on,
      unit: 'steps/s',
      baseline: off,
      ratio: on / off,
      note: `vs the same ring with them off (${(off / on).toFixed(2)}x slower); target ratio >= 0.33`,
    });
  }
  for (const n of [4, 16]) {
    const y = await rate(() => kernelYield(n, HANDOFFS));
    out.push({
      name: `kernel yield, ${n} runnable threads (chooser every step)`,
      value: y,
      unit: 'steps/s',
    });
  }
  return out;
}
