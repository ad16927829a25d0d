import { Thread } from '../kernel/index.ts';
import type { DmaFence } from './forward.ts';

/**
 * Model extension: declare the thread(s) that will signal `f` (a driver's
 * IRQ or completion thread). Blocked waiters then name them as owners, so the
 * wait-for graph and deadlock reports can follow fence waits.
 *
 * @kernel none: model extension (see above)
 */
export function dmaFenceSetSignaller(
  f: DmaFence,
  who: Thread | readonly Thread[] | (() => readonly Thread[]) | null,
): void {
  if (who === null) {
    f.signaller = null;
  } else if (typeof who === 'function') {
    f.signaller = who;
  } else {
    const list: readonly Thread[] = who instanceof Thread ? [who] : [...who];
    f.signaller = () => list;
  }
}

/**
 * Threads known to signal `f`: the declared signaller, else the driver's `signallers` op, else none.
 *
 * @kernel none: model extension for the wait-for graph
 */
export function dmaFenceSignallers(f: DmaFence): readonly Thread[] {
  if (f.signaller) return f.signaller();
  return f.ops.signallers?.(f) ?? [];
}
