/**
 * Which injection points of a schedule fail, for the sampling strategies
 * (random, PCT): up to `maxFaults` points drawn uniformly from the
 * injection points a default run reaches, each draw also allowing "none".
 * Drawn from a stream of its own, so switching faults on does not change
 * the thread order a seed gives.
 */
import { Prng } from '../kernel/index.ts';
import { scheduleSeed } from './strategy.ts';

/** The injection points (numbered from 0 in the run) that fail in schedule `index`. */
export function faultPlan(seed: number, index: number, points: number, maxFaults: number): ReadonlySet<number> {
  const out = new Set<number>();
  if (points <= 0 || maxFaults <= 0) return out;
  const prng = new Prng(scheduleSeed(seed ^ 0x5fa17, index));
  for (let i = 0; i < maxFaults; i++) {
    const j = prng.below(points + 1);
    if (j < points) out.add(j);
  }
  return out;
}
