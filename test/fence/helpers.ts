import { createHash } from 'node:crypto';
import { createCheckedKernel } from '../../src/check/index.ts';
import { Kernel, ReplayChooser, SpinLock } from '../../src/kernel/index.ts';
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

/** Same seed twice and a replay of the recorded schedule: the three hashes. */
export async function determinism(
  setup: (k: Kernel) => void,
  opts: KernelOptions = {},
): Promise<{ a: string; b: string; replay: string; result: RunResult; events: number }> {
  const a = await runHashed(setup, opts);
  const b = await runHashed(setup, opts);
  const r = await runHashed(setup, { ...opts, chooser: new ReplayChooser(a.result.schedule) });
  return { a: a.hash, b: b.hash, replay: r.hash, result: a.result, events: a.events };
}

/**
 * Let irq_work contexts run (containers signal from irq_work, a separate
 * context) until `f` signals; true if it did within `max` scheduling points.
 */
export async function settle(k: Kernel, f: DmaFence, max = 100): Promise<boolean> {
  for (let i = 0; i < max && !f.signalled; i++) await k.schedulePoint('settle');
  return f.signalled;
}
