import type { Thread } from '../kernel/index.ts';
import type { DmaFence } from './forward.ts';

/**
 * `struct dma_fence_ops`. Driver and timeline names are mandatory; the rest
 * is optional. Methods receive the fence; drivers that subclass `DmaFence`
 * type the parameter with their subclass (`DmaFenceOps<MyFence>`).
 *
 * Model extensions (not in the kernel's table): `inOrder`, `hwCompleted`,
 * `signallers`, `describeSignaller`, `lockClass`.
 *
 * @kernel struct dma_fence_ops (include/linux/dma-fence.h)
 */
export interface DmaFenceOps<F extends DmaFence = DmaFence> {
  /** `get_driver_name`. */
  getDriverName(fence: F): string;
  /** `get_timeline_name`. */
  getTimelineName(fence: F): string;
  /**
   * `enable_signaling`: called at most once, fence lock held (atomic). Return
   * false if the fence already completed (the core then signals it).
   */
  enableSignaling?(fence: F): boolean;
  /** `signaled`: fast-path poll; once true it must stay true. Any context. */
  signaled?(fence: F): boolean;
  /** `wait`: custom (deprecated) wait; same results as the default wait. Process context. */
  wait?(fence: F, intr: boolean, timeoutJiffies: number): Promise<number>;
  /** `release`: destructor, called once the last reference is dropped. */
  release?(fence: F): void;
  /** `set_deadline`: hint (ns, CLOCK_MONOTONIC), called without the fence lock. */
  setDeadline?(fence: F, deadlineNs: number): void;
  /**
   * Model extension: every context of this driver signals in seqno order
   * (hardware rings, sw_sync). Enables the `fence.context_out_of_order` check.
   */
  readonly inOrder?: boolean;
  /**
   * Model extension: the simulated hardware's ground truth, true once the
   * work behind the fence completed. Enables the `fence.signalled_early` check.
   */
  hwCompleted?(fence: F): boolean;
  /** Model extension: threads known to signal fences of this driver (wait-for graph, deadlock reports). */
  signallers?(fence: F): readonly Thread[];
  /**
   * Model extension: who is expected to signal the fence, in words, for
   * reports of a wait that never ends (`drm_sched ring0: job 3, queued, not
   * run yet`).
   */
  describeSignaller?(fence: F): string;
  /** Model extension: lockdep class key of the fence's inline lock (default `dma_fence.inline_lock`). */
  readonly lockClass?: string;
}
