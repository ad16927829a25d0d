import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import type { KernelEvent } from '../kernel/index.ts';

/**
 * A hash of an event stream fed one event at a time (sha256 over one JSON
 * line per event), so a run can be hashed as it goes without keeping its
 * events: attach `add` as a listener, read `digest()` at the end.
 */
export class EventHasher {
  private readonly h: Hash = createHash('sha256');
  /** Events hashed so far. */
  count = 0;

  add(e: KernelEvent): void {
    this.h.update(`${JSON.stringify(e)}\n`);
    this.count++;
  }

  /** The hex digest; call once. */
  digest(): string {
    return this.h.digest('hex');
  }
}

/**
 * A hash of an event stream (sha256 over one JSON line per event): two runs
 * with equal hashes produced the same events in the same order. Used by the
 * determinism self-checks and printed by `dmabuf-lab run --json`.
 */
export function eventStreamHash(events: readonly KernelEvent[]): string {
  const h = new EventHasher();
  for (const e of events) h.add(e);
  return h.digest();
}
