import { createCheckedKernel, Lockdep, LockdepGraph } from '../../src/check/index.ts';
import type { CheckedKernelOptions } from '../../src/check/index.ts';
import type { Kernel, RunResult, Splat } from '../../src/kernel/index.ts';

/** A checked kernel, its setup, its run. */
export async function runChecked(setup: (k: Kernel) => void, opts: CheckedKernelOptions = {}): Promise<RunResult> {
  const k = createCheckedKernel({ seed: 1, ...opts });
  setup(k);
  const r = await k.run();
  // A run that failed (a thread threw, misuse) is a broken test, never a verdict.
  if (r.failure) throw new Error(`run failed: ${r.failure.message}`);
  return r;
}

/** Rule ids of the splats of `r`, in order, without `info` ones. */
export function rulesOf(r: RunResult): string[] {
  return r.splats.filter((s) => s.severity !== 'info').map((s) => s.rule);
}

/** The splats with `rule`. */
export function splatsOf(r: RunResult, rule: string): Splat[] {
  return r.splats.filter((s) => s.rule === rule);
}

/** A fresh graph and a validator on it, for tests that share a graph between kernels. */
export function freshLockdep(priming = true): Lockdep {
  return new Lockdep(new LockdepGraph(), { priming });
}

/** Full report text of a splat (headline and body). */
export function text(s: Splat): string {
  return `${s.headline}\n${s.body}`;
}
