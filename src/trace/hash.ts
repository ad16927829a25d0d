import { createHash } from 'node:crypto';
import type { KernelEvent } from '../kernel/index.ts';

/**
 * A hash of an event stream (sha256 over one JSON line per event): two runs
 * with equal hashes produced the same events in the same order. Used by the
 * determinism self-checks and printed by `dmabuf-lab run --json`.
 */
export function eventStreamHash(events: readonly KernelEvent[]): string {
  const h = createHash('sha256');
  for (const e of events) h.update(`${JSON.stringify(e)}\n`);
  return h.digest('hex');
}
