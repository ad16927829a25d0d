import { createCheckedKernel } from '../../src/check/index.ts';
import { Kernel } from '../../src/kernel/index.ts';
import type { KernelOptions, RunResult, Splat } from '../../src/kernel/index.ts';

/** Run `body` in one kthread of a fresh kernel (checked with lockdep unless `lockdep: false`). */
export async function runTest(
  body: (k: Kernel) => Promise<void>,
  opts: KernelOptions & { lockdep?: boolean } = {},
): Promise<{ k: Kernel; r: RunResult }> {
  const { lockdep, ...kopts } = opts;
  const k = lockdep === false ? new Kernel(kopts) : createCheckedKernel(kopts);
  let err: unknown = null;
  k.kthreadRun('test', async () => {
    try {
      await body(k);
    } catch (e) {
      err = e;
      throw e;
    }
  });
  const r = await k.run();
  if (err) throw err instanceof Error ? err : new Error('the test body threw a non-Error value');
  if (r.failure) throw new Error(`run failed: ${r.failure.message}`);
  return { k, r };
}

/** Splats above `info`, as rule ids. */
export function rules(splats: readonly Splat[]): string[] {
  return splats.filter((s) => s.severity !== 'info').map((s) => s.rule);
}
