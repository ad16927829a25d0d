/**
 * lockdep cost: lock acquisitions per second with the checker off and on in
 * the same process (spinlock nests, which cost no scheduling point, and
 * mutexes, which do), and 10^6 acquisitions over 1,000 classes: the cost
 * per acquisition stays flat because each distinct held-lock chain is
 * validated once (the chain cache) and every later acquisition of it is a
 * child lookup in the chain trie.
 *
 * Times are process CPU time (user + system), not wall time: the figures are
 * ratios of two workloads in one process, and CPU time is much less
 * disturbed by other processes on a shared machine.
 */
import { Lockdep, LockdepGraph } from '../src/check/index.ts';
import { Kernel, Mutex, SpinLock } from '../src/kernel/index.ts';
import { median } from './result.ts';
import type { BenchResult } from './result.ts';

const REPS = 7;

/** Process CPU time in ms (benchmarks may use host clocks; the model may not). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function kernel(checked: boolean): Kernel {
  if (!checked) return new Kernel({ seed: 1, limits: { maxSteps: 1e9 } });
  const ld = new Lockdep(new LockdepGraph());
  const k = new Kernel({ seed: 1, validator: ld, limits: { maxSteps: 1e9 } });
  ld.attach(k);
  return k;
}

/** Wall-clock ms of one run of `setup` on a fresh kernel. */
async function timeRun(checked: boolean, setup: (k: Kernel) => void): Promise<number> {
  const k = kernel(checked);
  setup(k);
  const t0 = cpuMs();
  const r = await k.run();
  const ms = cpuMs() - t0;
  if (r.splats.length) throw new Error(`bench workload reported ${r.splats[0]!.rule}`);
  return ms;
}

/** Three nested spinlocks, `iters` times: 3 acquisitions per iteration, no scheduling point. */
function spinNest(iters: number) {
  return (k: Kernel): void => {
    const [a, b, c] = ['a', 'b', 'c'].map((n) => new SpinLock(k, n, { key: `bench:spin:${n}` }));
    k.kthreadRun('spin', () => {
      for (let i = 0; i < iters; i++) {
        a!.lock();
        b!.lock();
        c!.lock();
        c!.unlock();
        b!.unlock();
        a!.unlock();
      }
    });
  };
}

/** Four threads taking two mutexes in order: every lock is a scheduling point. */
function mutexPairs(itersPerThread: number) {
  return (k: Kernel): void => {
    const a = new Mutex(k, 'a', { key: 'bench:mutex:a' });
    const b = new Mutex(k, 'b', { key: 'bench:mutex:b' });
    for (let t = 0; t < 4; t++) {
      k.kthreadRun(`m${t}`, async () => {
        for (let i = 0; i < itersPerThread; i++) {
          await a.lock();
          await b.lock();
          b.unlock();
          a.unlock();
        }
      });
    }
  };
}

/**
 * `total` acquisitions over 1,000 classes: windows of three consecutive
 * classes picked by a fixed LCG, taken in ascending order (about 3,000
 * distinct chains). Records the elapsed time after `mark` acquisitions and
 * after `total - mark` (so the last `mark` acquisitions can be timed alone).
 */
function manyClasses(total: number, mark: number, out: { markMs: number; lateMs: number; t0: number }) {
  return (k: Kernel): void => {
    const locks = Array.from({ length: 1000 }, (_, i) => new SpinLock(k, `c${i}`, { key: `bench:class:${i}` }));
    k.kthreadRun('classes', () => {
      let x = 12345;
      let n = 0;
      while (n < total) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const c = (x >>> 8) % 997;
        const depth = 1 + ((x >>> 4) % 3);
        for (let d = 0; d < depth; d++) locks[c + d]!.lock();
        for (let d = depth - 1; d >= 0; d--) locks[c + d]!.unlock();
        const before = n;
        n += depth;
        if (before < mark && n >= mark) out.markMs = cpuMs() - out.t0;
        if (before < total - mark && n >= total - mark) out.lateMs = cpuMs() - out.t0;
      }
    });
  };
}

export async function benchLockdep(): Promise<BenchResult[]> {
  const SPIN_ITERS = 200_000;
  const MUTEX_ITERS = 25_000;
  const spinOff: number[] = [];
  const spinOn: number[] = [];
  const mutexOff: number[] = [];
  const mutexOn: number[] = [];
  for (let i = 0; i < REPS; i++) {
    // Alternate so neither side always runs on a warmer JIT.
    const order = i % 2 === 0 ? [false, true] : [true, false];
    for (const on of order) {
      (on ? spinOn : spinOff).push(await timeRun(on, spinNest(SPIN_ITERS)));
      (on ? mutexOn : mutexOff).push(await timeRun(on, mutexPairs(MUTEX_ITERS)));
    }
  }
  const spinAcq = SPIN_ITERS * 3;
  const mutexAcq = MUTEX_ITERS * 4 * 2;
  const rate = (acq: number, ms: number): number => (acq / ms) * 1000;
  const sOff = rate(spinAcq, median(spinOff));
  const sOn = rate(spinAcq, median(spinOn));
  const mOff = rate(mutexAcq, median(mutexOff));
  const mOn = rate(mutexAcq, median(mutexOn));

  // 10^6 acquisitions over 1,000 classes.
  const TOTAL = 1_000_000;
  const MARK = 100_000;
  const graphRuns: { markMs: number; lateMs: number; totalMs: number }[] = [];
  const offRuns: number[] = [];
  for (let i = 0; i < 3; i++) {
    const out = { markMs: 0, lateMs: 0, t0: 0 };
    const k = kernel(true);
    manyClasses(TOTAL, MARK, out)(k);
    out.t0 = cpuMs();
    await k.run();
    graphRuns.push({ markMs: out.markMs, lateMs: out.lateMs, totalMs: cpuMs() - out.t0 });
    const off = { markMs: 0, lateMs: 0, t0: 0 };
    const k2 = kernel(false);
    manyClasses(TOTAL, MARK, off)(k2);
    off.t0 = cpuMs();
    await k2.run();
    offRuns.push(cpuMs() - off.t0);
  }
  const nsAtMark = (median(graphRuns.map((r) => r.markMs)) * 1e6) / MARK;
  const nsAtTotal = (median(graphRuns.map((r) => r.totalMs)) * 1e6) / TOTAL;
  const nsOff = (median(offRuns) * 1e6) / TOTAL;
  const nsLate = (median(graphRuns.map((r) => r.totalMs - r.lateMs)) * 1e6) / MARK;

  return [
    { name: 'lockdep: spinlock acquisitions/s, checker off', value: sOff, unit: 'acq/s', note: '3 nested spinlocks, one thread' },
    {
      name: 'lockdep: spinlock acquisitions/s, checker on',
      value: sOn,
      unit: 'acq/s',
      baseline: sOff,
      ratio: sOn / sOff,
      note: `checker cost ${(sOff / sOn).toFixed(2)}x (target <= 2x)`,
    },
    { name: 'lockdep: mutex acquisitions/s, checker off', value: mOff, unit: 'acq/s', note: '4 threads, 2 mutexes in order; each lock is a scheduling point' },
    {
      name: 'lockdep: mutex acquisitions/s, checker on',
      value: mOn,
      unit: 'acq/s',
      baseline: mOff,
      ratio: mOn / mOff,
      note: `checker cost ${(mOff / mOn).toFixed(2)}x (target <= 2x)`,
    },
    { name: 'lockdep: ns/acquisition, 1,000 classes, first 10^5', value: nsAtMark, unit: 'ns', note: 'includes validating every new chain' },
    {
      name: 'lockdep: ns/acquisition, 1,000 classes, 10^6',
      value: nsAtTotal,
      unit: 'ns',
      baseline: nsAtMark,
      ratio: nsAtTotal / nsAtMark,
      note: `last 10^5 alone: ${nsLate.toFixed(0)} ns/acq; checker off: ${nsOff.toFixed(0)} ns/acq (chain cache: no graph search once every chain was seen)`,
    },
  ];
}
