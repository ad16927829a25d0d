/**
 * The dma-fence family's costs, each next to a baseline measured in the same
 * run:
 *
 * - create + add_callback + signal cycles per second (tracing and lockdep
 *   off, inside a simulated thread) against a plain callback-list object
 *   doing the same work; also the cycle with lockdep on, for reference.
 * - dma_fence_unwrap_merge of N pending fences (two arrays of N/2, N/2
 *   contexts so dedup has work) for several N, against a plain sort + dedup
 *   of N {context, seqno} records; ns / (N log2 N) shows the growth.
 * - a dma_fence_chain of 10^5, 5·10^5 and 10^6 links built, walked and
 *   released (ns per link for each: flat means linear), and the heap bytes
 *   per link (`process.memoryUsage().heapUsed` around the build, after a
 *   forced GC when one can be exposed, otherwise plain deltas: the note says
 *   which).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { createCheckedKernel } from '../src/check/index.ts';
import {
  DmaFence,
  DmaFenceCb,
  dmaFenceArrayCreate,
  dmaFenceChainAlloc,
  dmaFenceChainInit,
  dmaFenceChainWalk,
  dmaFenceContextAlloc,
  dmaFenceUnwrapMerge,
} from '../src/fence/index.ts';
import type { DmaFenceOps } from '../src/fence/index.ts';
import { Kernel, SpinLock } from '../src/kernel/index.ts';
import type { BenchResult } from './result.ts';
import { median } from './result.ts';

const ops: DmaFenceOps = { getDriverName: () => 'bench', getTimelineName: () => 'bench' };
const CYCLES = 400_000;
const REPEATS = 7;

/** A plain callback list: what a fence would be without the kernel's rules. */
class PlainEvent {
  private cbs: ((e: PlainEvent) => void)[] = [];
  signalled = false;
  add(fn: (e: PlainEvent) => void): number {
    if (this.signalled) return -2;
    this.cbs.push(fn);
    return 0;
  }
  signal(): number {
    if (this.signalled) return -22;
    this.signalled = true;
    const cbs = this.cbs;
    this.cbs = [];
    for (const fn of cbs) fn(this);
    return 0;
  }
}

/** Both loops store each object here, so neither can be optimised away (escape analysis). */
let sink: unknown = null;

/** Run `body` in one kthread of `k`; resolves with its result. */
async function inThread<T>(k: Kernel, body: () => T): Promise<T> {
  let out: T | undefined;
  k.kthreadRun('bench', () => {
    out = body();
  });
  const r = await k.run();
  if (r.failure) throw new Error(r.failure.message);
  return out as T;
}

function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

async function fenceCycles(): Promise<BenchResult[]> {
  let hits = 0;
  const plainLoop = () => {
    for (let i = 0; i < CYCLES; i++) {
      const e = new PlainEvent();
      e.add(() => hits++);
      e.signal();
      sink = e;
    }
  };
  const fenceLoop = (k: Kernel) => () => {
    const lock = new SpinLock(k, 'bench', { key: 'bench.lock' });
    const func = () => hits++;
    for (let i = 0; i < CYCLES; i++) {
      const f = new DmaFence(k, ops, lock, 1, i);
      f.addCallback(new DmaFenceCb(), func);
      f.signal();
      sink = f;
    }
  };
  const plain: number[] = [];
  const fence: number[] = [];
  const checked: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    // Interleave, so neither side always runs on a warmer or fuller heap.
    plain.push(timed(plainLoop));
    const k = new Kernel({ seed: 1 });
    fence.push(await inThread(k, () => timed(fenceLoop(k))));
    const kc = createCheckedKernel({ seed: 1 });
    checked.push(await inThread(kc, () => timed(fenceLoop(kc))));
  }
  if (hits !== CYCLES * REPEATS * 3 || sink === null) throw new Error(`callbacks ran ${hits} times`);
  const rate = (ms: number) => (CYCLES / ms) * 1000;
  const base = rate(median(plain));
  const f = rate(median(fence));
  const c = rate(median(checked));
  return [
    {
      name: 'fence create+add_callback+signal',
      value: f,
      unit: 'cycles/s',
      baseline: base,
      ratio: f / base,
      note: `${(base / f).toFixed(2)}x slower than a plain callback-list object (target: within 3x, ratio >= 0.33); lockdep and tracing off`,
    },
    {
      name: 'fence cycle, lockdep + lifetime tracker on',
      value: c,
      unit: 'cycles/s',
      baseline: base,
      ratio: c / base,
      note: `${(base / c).toFixed(1)}x slower; for reference: the fence lock and dma_fence_map go through the validator`,
    },
  ];
}

async function mergeScaling(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  // The first (unreported) size warms the JIT.
  for (const [n, report] of [
    [1024, false],
    [16, true],
    [128, true],
    [1024, true],
    [8192, true],
    [32768, true],
  ] as const) {
    const reps = Math.max(3, Math.floor(200_000 / n));
    const k = new Kernel({ seed: 1 });
    const ms = await inThread(k, () => {
      const lock = new SpinLock(k, 'bench', { key: 'bench.lock' });
      const ctx = dmaFenceContextAlloc(k, n / 2);
      const fences = Array.from(
        { length: n },
        (_, i) => new DmaFence(k, ops, lock, ctx + (i % (n / 2)), i),
      );
      const halves = [fences.slice(0, n / 2), fences.slice(n / 2)];
      const arrays = halves.map((h) =>
        dmaFenceArrayCreate(
          k,
          h.length,
          h.map((f) => f.get()),
          dmaFenceContextAlloc(k, 1),
          1,
          false,
        )!,
      );
      const samples: number[] = [];
      for (let r = 0; r < 3; r++) {
        samples.push(
          timed(() => {
            for (let i = 0; i < reps; i++) dmaFenceUnwrapMerge(k, arrays[0]!, arrays[1]!)!.put();
          }) / reps,
        );
      }
      return median(samples);
    });
    // Baseline: the same work on plain records (collect, sort by context then seqno, keep one per context).
    const recs = Array.from({ length: n }, (_, i) => ({ context: 1 + (i % (n / 2)), seqno: i }));
    const base: number[] = [];
    for (let r = 0; r < 3; r++) {
      base.push(
        timed(() => {
          for (let i = 0; i < reps; i++) {
            const a = recs
              .filter((x) => x.seqno >= 0)
              .sort((x, y) => x.context - y.context || y.seqno - x.seqno);
            const kept = a.filter((x, j) => j === 0 || a[j - 1]!.context !== x.context);
            if (kept.length !== n / 2) throw new Error('dedup');
          }
        }) / reps,
      );
    }
    const b = median(base);
    if (!report) continue;
    out.push({
      name: `unwrap_merge of ${n} fences`,
      value: ms * 1000,
      unit: 'us/merge',
      baseline: b * 1000,
      ratio: ms / b,
      note: `${((ms * 1e6) / (n * Math.log2(n))).toFixed(1)} ns per N·log2(N); baseline: plain sort+dedup`,
    });
  }
  return out;
}

/** A forced GC if one can be exposed (flag set at run time), else null. */
function exposeGc(): (() => void) | null {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
}

async function chainLinear(): Promise<BenchResult[]> {
  const gc = exposeGc();
  const out: BenchResult[] = [];
  let bytesPerLink = 0;
  // A first, unreported run warms the JIT.
  for (const [n, report] of [
    [100_000, false],
    [100_000, true],
    [500_000, true],
    [1_000_000, true],
  ] as const) {
    const k = new Kernel({ seed: 1 });
    const r = await inThread(k, () => {
      const shared = new DmaFence(k, ops, new SpinLock(k, 'bench', { key: 'bench.lock' }), 1, 1);
      gc?.();
      const h0 = process.memoryUsage().heapUsed;
      let tail: DmaFence | null = null;
      const build = timed(() => {
        for (let i = 1; i <= n; i++) {
          const c = dmaFenceChainAlloc(k)!;
          dmaFenceChainInit(c, tail, shared.get(), i);
          tail = c;
        }
      });
      gc?.();
      const bytes = (process.memoryUsage().heapUsed - h0) / n;
      let visited = 0;
      const walk = timed(() => {
        for (let it: DmaFence | null = tail!.get(); it !== null; it = dmaFenceChainWalk(it))
          visited++;
      });
      const release = timed(() => {
        tail!.put();
      });
      if (visited !== n || shared.refcount.read() !== 1)
        throw new Error(`chain of ${n}: visited ${visited}, shared refs ${shared.refcount.read()}`);
      shared.signal();
      return { build, walk, release, bytes };
    });
    if (n === 1_000_000) bytesPerLink = r.bytes;
    if (!report) continue;
    for (const [what, ms] of [
      ['build', r.build],
      ['walk', r.walk],
      ['release', r.release],
    ] as const) {
      out.push({
        name: `chain of ${n} links: ${what}`,
        value: (ms * 1e6) / n,
        unit: 'ns/link',
        note: `${ms.toFixed(0)} ms total`,
      });
    }
  }
  out.push({
    name: 'chain of 1000000 links: memory',
    value: bytesPerLink,
    unit: 'bytes/link',
    note: `${gc ? 'heapUsed delta after forced GC' : 'heapUsed delta without GC (gc not exposable)'}; target < 300; contained fence shared`,
  });
  return out;
}

/** `npm run bench fence`. */
export async function benchFence(): Promise<BenchResult[]> {
  return [...(await fenceCycles()), ...(await mergeScaling()), ...(await chainLinear())];
}
