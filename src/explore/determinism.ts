import { createHash } from 'node:crypto';
import { Kernel, ReplayChooser } from '../kernel/index.ts';
import type { KernelOptions, RunResult } from '../kernel/index.ts';

/** One run with a SHA-256 over the JSON of every event, in order. */
export interface HashedRun {
  readonly result: RunResult;
  readonly hash: string;
  readonly events: number;
}

/**
 * Run `setup` on a fresh kernel and hash its whole event stream. Two runs
 * with equal hashes produced the same events, byte for byte.
 */
export async function runHashed(setup: (k: Kernel) => void, opts: KernelOptions = {}): Promise<HashedRun> {
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

/** The three hashes of the determinism self-check. */
export interface DeterminismCheck {
  /** First run. */
  readonly a: string;
  /** Second run, same options and seed. */
  readonly b: string;
  /** Replay of the first run's recorded schedule. */
  readonly replay: string;
  readonly result: RunResult;
  readonly events: number;
}

/**
 * The determinism self-check: run `setup` twice with the same options, then
 * once more replaying the first run's schedule. All three hashes must be
 * equal; a difference means something outside the kernel's chooser (a host
 * timer, a host random source, iteration over an unordered structure) reached the run.
 */
export async function checkDeterminism(setup: (k: Kernel) => void, opts: KernelOptions = {}): Promise<DeterminismCheck> {
  const a = await runHashed(setup, opts);
  const b = await runHashed(setup, opts);
  const r = await runHashed(setup, { ...opts, chooser: new ReplayChooser(a.result.schedule) });
  return { a: a.hash, b: b.hash, replay: r.hash, result: a.result, events: a.events };
}
