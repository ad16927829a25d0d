import { jiffiesArg } from './args.ts';
import type { Kernel } from './kernel.ts';
import type { TimerEntry } from './timer-heap.ts';
import { queueAllowed, WorkStruct } from './workqueue.ts';
import { cancelWorkSync, flushWork } from './workqueue-flush.ts';
import type { WorkInit, WorkqueueStruct } from './workqueue.ts';

/** A delayed work function: receives its `DelayedWork`. */
export type DelayedWorkFunc = (dwork: DelayedWork) => Promise<void> | void;

/**
 * `struct delayed_work`: a work item queued when its timer expires. While
 * the timer is armed the item counts as pending (`queue_work` on it fails),
 * as with the kernel's PENDING bit. The timer is a jiffies timer; timers
 * expiring at the same instant are ordered by the chooser.
 *
 * @kernel struct delayed_work, INIT_DELAYED_WORK
 */
export class DelayedWork extends WorkStruct {
  /** The queue the armed timer will queue on (`dwork->wq`). */
  wq: WorkqueueStruct | null = null;
  /** `dwork->timer.expires` (jiffies) of the last arming; kept after it fired, as in the kernel. */
  expiresJiffies = 0;
  private timer: TimerEntry | null = null;
  /** Armed with `MAX_SCHEDULE_TIMEOUT`: pending, but no timer that would ever fire. */
  private parked = false;

  constructor(k: Kernel, func: DelayedWorkFunc, name = 'dwork', opts: WorkInit = {}) {
    super(k, (w) => (w instanceof DelayedWork ? func(w) : undefined), name, { key: opts.key ?? k.creationSite(name) });
  }

  /** True while the timer is armed. */
  get timerPending(): boolean {
    return this.timer !== null || this.parked;
  }

  override isPending(): boolean {
    return this.timer !== null || this.parked || super.isPending();
  }

  override grabPending(): boolean {
    if (this.timer) {
      this.kernel.cancelTimer(this.timer);
      this.timer = null;
      return true;
    }
    if (this.parked) {
      this.parked = false;
      return true;
    }
    return super.grabPending();
  }

  /** @internal queue now (delay 0) or arm the timer; the caller owns PENDING. */
  start(wq: WorkqueueStruct, delayJiffies: number): void {
    jiffiesArg(`queue_delayed_work of ${this.name}`, 'delayJiffies', delayJiffies);
    this.wq = wq;
    if (delayJiffies <= 0) {
      wq.enqueue(this);
      return;
    }
    const k = this.kernel;
    if (delayJiffies === Number.POSITIVE_INFINITY) {
      // MAX_SCHEDULE_TIMEOUT: pending forever (until modified or cancelled), never due.
      this.expiresJiffies = Number.POSITIVE_INFINITY;
      this.parked = true;
      return;
    }
    this.expiresJiffies = k.jiffies + delayJiffies;
    this.timer = k.addTimer(k.jiffiesToNs(k.jiffies + delayJiffies), `dwork:${this.name}`, () => {
      this.timer = null;
      if (queueAllowed(wq, this)) wq.enqueue(this);
    });
  }

  /** @internal flush_delayed_work: fire an armed timer now. */
  fireNow(): void {
    if ((!this.timer && !this.parked) || !this.wq) return;
    if (this.timer) this.kernel.cancelTimer(this.timer);
    this.timer = null;
    this.parked = false;
    if (queueAllowed(this.wq, this)) this.wq.enqueue(this);
  }
}

/** `INIT_DELAYED_WORK`: a delayed work whose lockdep class is the caller's location. @kernel INIT_DELAYED_WORK */
export function initDelayedWork(k: Kernel, func: DelayedWorkFunc, name = 'dwork', opts: WorkInit = {}): DelayedWork {
  return new DelayedWork(k, func, name, { key: opts.key ?? k.creationSite(name) });
}

/**
 * `queue_delayed_work`: queue `dwork` on `wq` after `delayJiffies` (0 queues
 * at once). Returns false if it was already pending. Any context.
 *
 * @kernel queue_delayed_work
 */
export function queueDelayedWork(wq: WorkqueueStruct, dwork: DelayedWork, delayJiffies: number): boolean {
  if (dwork.canceling > 0 || dwork.isPending()) {
    if (dwork.isPending()) wq.kernel.hb?.release(wq.kernel.currentOrNull, dwork);
    return false;
  }
  if (!queueAllowed(wq, dwork)) return !wq.destroyed;
  dwork.start(wq, delayJiffies);
  return true;
}

/**
 * `mod_delayed_work`: (re)queue with a new delay whether or not it was
 * pending. Returns true if it was pending (its timer or queueing replaced),
 * false if it was idle and has been queued. Any context.
 *
 * @kernel mod_delayed_work
 */
export function modDelayedWork(wq: WorkqueueStruct, dwork: DelayedWork, delayJiffies: number): boolean {
  if (dwork.canceling > 0) return false;
  const was = dwork.grabPending();
  if (queueAllowed(wq, dwork)) dwork.start(wq, delayJiffies);
  return was;
}

/**
 * `cancel_delayed_work`: disarm the timer or remove the queueing; does not
 * wait for a running instance. Returns true if it was pending. Any context.
 *
 * @kernel cancel_delayed_work
 */
export function cancelDelayedWork(dwork: DelayedWork): boolean {
  return dwork.grabPending();
}

/**
 * `cancel_delayed_work_sync`: cancel and wait for a running instance.
 * Returns true if it was pending. Process context.
 *
 * @kernel cancel_delayed_work_sync
 */
export function cancelDelayedWorkSync(dwork: DelayedWork): Promise<boolean> {
  return cancelWorkSync(dwork);
}

/**
 * `flush_delayed_work`: queue an armed delayed work at once, then wait for
 * it like `flush_work`. Process context.
 *
 * @kernel flush_delayed_work
 */
export function flushDelayedWork(dwork: DelayedWork): Promise<boolean> {
  dwork.fireNow();
  return flushWork(dwork);
}
