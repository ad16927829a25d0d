import type { HeldLock, LockdepMap } from './lockdep-map.ts';
import type { Thread } from './thread.ts';

/**
 * The validator the kernel calls on every acquisition and release. The
 * checker layer implements it (lockdep); with none installed the kernel still
 * keeps held-lock stacks, so assertions and leak checks keep working.
 */
export interface LockValidator {
  /** Before `held` is pushed on `t.held` (the stack still shows what was held before). */
  acquire(t: Thread, held: HeldLock): void;
  /** After `held` was removed from `t.held`. */
  release(t: Thread, held: HeldLock): void;
  /** `lock_downgrade`: `held` (still on `t.held`, same position) became a read acquisition. */
  downgrade?(t: Thread, held: HeldLock): void;
  /** A release of a map that `t` does not hold. */
  badUnlock(t: Thread, map: LockdepMap): void;
  /**
   * Hard IRQs (`hardirqs`) and/or soft IRQs (`softirqs`) of `t` just went
   * from disabled to enabled (`trace_hardirqs_on`, `lockdep_softirqs_on`):
   * every lock `t` still holds is now held with them enabled.
   */
  irqsOn?(t: Thread, hardirqs: boolean, softirqs: boolean): void;
  /** A task or work item ending with locks held, or freeing memory holding a lock. */
  leaked?(t: Thread, what: string): void;
}
