import { createHash } from 'node:crypto';
import { Kernel, ReplayChooser } from '../../src/kernel/index.ts';
import type { KernelOptions, RunResult } from '../../src/kernel/index.ts';
import { createCheckedKernel } from '../../src/check/index.ts';
import { DmaFence, dmaFenceContextAlloc } from '../../src/fence/index.ts';
import type { DmaFenceOps } from '../../src/fence/index.ts';

/** Plain software fences for tests. */
export const testFenceOps: DmaFenceOps = {
  getDriverName: () => 'test',
  getTimelineName: () => 'timeline',
};

/** A new fence on `context` (a fresh context when omitted). */
export function mkFence(k: Kernel, context?: number, seqno = 1): DmaFence {
  return new DmaFence(k, testFenceOps, null, context ?? dmaFenceContextAlloc(k, 1), seqno);
}

/** Rule ids of a run's splats. */
export function rules(r: RunResult): string[] {
  return r.splats.map((s) => s.rule);
}

/** A checked kernel (lockdep + lifetime tracker). */
export function checkedKernel(opts: KernelOptions = {}): Kernel {
  return createCheckedKernel(opts);
}

/** Run `body` as the only thread of a fresh checked kernel; rethrows a thread exception. */
export async function runOne(
  body: (k: Kernel) => Promise<void>,
  opts: KernelOptions = {},
): Promise<RunResult> {
  const k = checkedKernel(opts);
  k.kthreadRun('test', () => body(k));
  const r = await k.run();
  if (r.failure) throw (r.failure.error as Error | undefined) ?? new Error(r.failure.message);
  return r;
}

/** Run `setup` on a fresh kernel with every event hashed. */
export async function runHashed(
  setup: (k: Kernel) => void,
  opts: KernelOptions = {},
): Promise<{ result: RunResult; hash: string; events: number }> {
  const k = new Kernel(opts);
  const h = createHash('sha256');
  let events = 0;
  k.events.on((e) => {
    h.update(JSON.stringify(e));
    h.update('\n');
    events++;
  });
  setup(k);
  const result = await k.run();
  return { result, hash: h.digest('hex'), events };
}

/** Same seed twice and a replay of the recorded schedule. */
export async function determinism(
  setup: (k: Kernel) => void,
  opts: KernelOptions = {},
): Promise<{ a: string; b: string; replay: string; result: RunResult; events: number }> {
  const a = await runHashed(setup, opts);
  const b = await runHashed(setup, opts);
  const replay = await runHashed(setup, { ...opts, chooser: new ReplayChooser(a.result.schedule) });
  return { a: a.hash, b: b.hash, replay: replay.hash, result: a.result, events: a.events };
}
