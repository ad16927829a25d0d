import { createCheckedKernel } from '../../src/check/index.ts';
import { Kernel, SpinLock } from '../../src/kernel/index.ts';
import type { KernelOptions, RunResult } from '../../src/kernel/index.ts';
import { DmaFence } from '../../src/fence/index.ts';
import type { DmaFenceOps } from '../../src/fence/index.ts';

/** The selftests' mock ops: both names "mock", nothing else. */
export const mockOps: DmaFenceOps = {
  getDriverName: () => 'mock',
  getTimelineName: () => 'mock',
};

/** A fence on its own lock (the selftests' `mock_fence()`), context 0 seqno 0 unless given. */
export function mockFence(k: Kernel, context = 0, seqno = 0, lock?: SpinLock): DmaFence {
  return new DmaFence(
    k,
    mockOps,
    lock ?? new SpinLock(k, 'mock', { key: 'mock_fence.lock' }),
    context,
    seqno,
  );
}

/** Rule ids of a run's splats. */
export function rules(r: RunResult): string[] {
  return r.splats.map((s) => s.rule);
}

/**
 * Run `body` in one kthread of a fresh kernel (lockdep and the lifetime
 * tracker on unless `lockdep: false`); returns what it returned, the run
 * result and the kernel. Unit tests that do not put every fence would see
 * `lifetime.leak` reports; those are left out unless `leaks: true`.
 */
export async function inThread<T>(
  body: (k: Kernel) => T | Promise<T>,
  opts: KernelOptions & { lockdep?: boolean; leaks?: boolean } = {},
): Promise<{ value: T; result: RunResult; k: Kernel }> {
  const { lockdep, leaks, ...ko } = opts;
  const k =
    lockdep === false ? new Kernel({ seed: 1, ...ko }) : createCheckedKernel({ seed: 1, ...ko });
  let value: T | undefined;
  k.kthreadRun('test', async () => {
    value = await body(k);
  });
  const full = await k.run();
  if (full.failure)
    throw new Error(`run failed: ${full.failure.message}`, { cause: full.failure.error });
  const result = leaks
    ? full
    : { ...full, splats: full.splats.filter((s) => s.rule !== 'lifetime.leak') };
  return { value: value as T, result, k };
}

/**
 * Let irq_work contexts run (containers signal from irq_work, a separate
 * context) until `f` signals; true if it did within `max` scheduling points.
 */
export async function settle(k: Kernel, f: DmaFence, max = 100): Promise<boolean> {
  for (let i = 0; i < max && !f.signalled; i++) await k.schedulePoint('settle');
  return f.signalled;
}

export { checkDeterminism as determinism, runHashed } from '../../src/explore/index.ts';
