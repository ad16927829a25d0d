import type { Kernel } from '../kernel/index.ts';
import { fenceState } from './state.ts';

/**
 * Model hook for drivers: the driver's cached completed seqno of fence
 * context `context` is now `seqno` (a hardware ring's seqno location as the
 * driver reads it, a sw_sync timeline's value). The kernel has no such
 * tracepoint; the rule book uses it to place the context's timeline (the
 * order of points about 2^31 apart) and to report a cache that moves
 * backwards (`fence.completed_seqno_backwards`). Any context.
 *
 * @kernel none: the kernel has no such tracepoint (see above)
 */
export function dmaFenceCompleted(
  k: Kernel,
  context: number,
  seqno: number,
  timeline: string,
  seqno64 = false,
): void {
  fenceState(k);
  if (k.events.wants('fence-completed'))
    k.emit('fence-completed', { context, seqno, seqno64, timeline });
}
