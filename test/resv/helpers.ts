import { Kernel } from '../../src/kernel/index.ts';
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

export { checkDeterminism as determinism, runHashed } from '../../src/explore/index.ts';
