import { jiffiesArg, ktimeArg } from './args.ts';
import type { Kernel } from './kernel.ts';
import type { Thread } from './thread.ts';
import type { TimerEntry } from './timer-heap.ts';

/**
 * `struct timer_list`: a jiffies timer whose callback runs in softirq
 * context (atomic: it must not sleep). When several timers expire at the same
 * instant the chooser orders them.
 *
 * @kernel timer_setup, mod_timer, add_timer, timer_delete (del_timer), timer_delete_sync (kernel/time/timer.c)
 */
export class TimerList {
  /** Absolute expiry in jiffies (`timer->expires`). */
  expires = 0;
  private entry: TimerEntry | null = null;
  private running: Thread | null = null;

  /** `timer_setup`. */
  constructor(
    readonly kernel: Kernel,
    readonly fn: (timer: TimerList) => void,
    readonly name = 'timer',
  ) {}

  /** `mod_timer`: (re)arm to expire at `expiresJiffies`; returns 1 if it was pending, else 0. */
  modTimer(expiresJiffies: number): number {
    jiffiesArg(`TimerList.modTimer(expiresJiffies) of ${this.name}`, 'expiresJiffies', expiresJiffies, false);
    const was = this.timerDelete();
    this.expires = expiresJiffies;
    this.arm();
    return was;
  }

  /** `add_timer`: arm at `this.expires` (must not be pending). */
  addTimer(): void {
    if (this.pending()) throw new Error(`add_timer on pending timer "${this.name}": use modTimer to re-arm`);
    this.arm();
  }

  /** `timer_delete` (`del_timer`): 1 if it was pending. Does not wait for a running callback. */
  timerDelete(): number {
    if (!this.entry) return 0;
    const was = this.kernel.cancelTimer(this.entry);
    this.entry = null;
    return was ? 1 : 0;
  }

  /**
   * `timer_delete_sync` (`del_timer_sync`): deactivate and wait for a running
   * callback to finish. Process context; must not be called with a lock the
   * callback takes held (lockdep reports that through the timer's map).
   */
  async timerDeleteSync(): Promise<number> {
    const k = this.kernel;
    const self = k.current;
    k.mightSleep('timer_delete_sync');
    await k.schedulePoint('timer_delete_sync');
    // As try_to_del_timer_sync: delete only once no callback runs, so a
    // callback that re-arms the timer meanwhile is deactivated too.
    while (this.running && this.running.state !== 'exited') {
      const cb = this.running;
      cb.exitWaiters.push(self);
      await k.block(self, { describe: () => `timer callback ${this.name}`, owners: () => [cb] }, 'timer_delete_sync');
    }
    // The callback that ran is over and ordered before the return.
    if (this.running) k.hb?.acquire(self, this.running);
    return this.timerDelete();
  }

  /** `timer_pending`. */
  pending(): boolean {
    return this.entry !== null && this.kernel.timerPending(this.entry);
  }

  private arm(): void {
    const k = this.kernel;
    const ns = Math.max(k.nowNs, k.jiffiesToNs(this.expires));
    this.entry = k.addTimer(ns, this.name, () => {
      this.entry = null;
      // The callback's result is returned so that a (wrongly) async callback
      // sleeps in its context and is reported, rather than floating.
      this.running = k.spawnContext('softirq', `timer:${this.name}`, (t) => {
        // A timer's callback never runs concurrently with its previous run (the timer base lock).
        k.hb?.acquire(t, this);
        const call: (t: TimerList) => unknown = this.fn;
        const r = call(this);
        if (r instanceof Promise) return r.finally(() => k.hb?.release(t, this));
        k.hb?.release(t, this);
        return undefined;
      });
    });
  }
}

/** What an hrtimer callback returns. */
export type HrtimerRestart = 'norestart' | 'restart';

/**
 * `struct hrtimer`: a nanosecond timer. `mode: 'hard'` runs the callback in
 * hardirq context (`HRTIMER_MODE_*_HARD`), `'soft'` in softirq context.
 *
 * @kernel hrtimer_setup, hrtimer_start, hrtimer_forward_now, hrtimer_cancel, hrtimer_try_to_cancel
 */
export class HrTimer {
  /** Absolute expiry in ns. */
  expiresNs = 0;
  private entry: TimerEntry | null = null;
  private running: Thread | null = null;

  constructor(
    readonly kernel: Kernel,
    readonly fn: (timer: HrTimer) => HrtimerRestart,
    readonly mode: 'hard' | 'soft' = 'hard',
    readonly name = 'hrtimer',
  ) {}

  /** `hrtimer_start` with a relative expiry (`HRTIMER_MODE_REL`). */
  start(relNs: number): void {
    ktimeArg(`HrTimer.start(relNs) of ${this.name}`, 'relNs', relNs);
    // A queued expiry is replaced even while the callback runs (remove_hrtimer + enqueue).
    if (this.entry) {
      this.kernel.cancelTimer(this.entry);
      this.entry = null;
    }
    this.expiresNs = this.kernel.nowNs + relNs;
    this.arm();
  }

  /** `hrtimer_forward_now`: push the expiry forward by whole intervals past now; returns the overrun count. */
  forwardNow(intervalNs: number): number {
    ktimeArg(`HrTimer.forwardNow(intervalNs) of ${this.name}`, 'intervalNs', intervalNs);
    // As hrtimer_forward: an interval below the resolution (1 ns here) is raised to it.
    intervalNs = Math.max(1, intervalNs);
    const now = this.kernel.nowNs;
    if (this.expiresNs > now) return 0;
    const n = Math.floor((now - this.expiresNs) / intervalNs) + 1;
    this.expiresNs += n * intervalNs;
    return n;
  }

  /** `hrtimer_try_to_cancel`: 1 if it was active, 0 if not, -1 if the callback is running. */
  tryToCancel(): number {
    if (this.running && this.running.state !== 'exited') return -1;
    if (!this.entry) return 0;
    const was = this.kernel.cancelTimer(this.entry);
    this.entry = null;
    return was ? 1 : 0;
  }

  /** `hrtimer_cancel`: cancel and wait for a running callback. Process context. */
  async cancel(): Promise<number> {
    const k = this.kernel;
    const self = k.current;
    k.mightSleep('hrtimer_cancel');
    // As the kernel: retry after each running callback, which may have re-armed the timer.
    for (;;) {
      const ret = this.tryToCancel();
      if (ret >= 0) {
        if (this.running) k.hb?.acquire(self, this.running);
        return ret;
      }
      const cb = this.running!;
      cb.exitWaiters.push(self);
      await k.block(self, { describe: () => `hrtimer callback ${this.name}`, owners: () => [cb] }, 'hrtimer_cancel');
    }
  }

  /** `hrtimer_active`. */
  active(): boolean {
    return (this.entry !== null && this.kernel.timerPending(this.entry)) || (this.running !== null && this.running.state !== 'exited');
  }

  private arm(): void {
    const k = this.kernel;
    this.entry = k.addTimer(Math.max(k.nowNs, this.expiresNs), this.name, () => {
      this.entry = null;
      this.running = k.spawnContext(this.mode === 'hard' ? 'hardirq' : 'softirq', `hrtimer:${this.name}`, (t) => {
        k.hb?.acquire(t, this);
        const restart = this.fn(this);
        k.hb?.release(t, this);
        if (restart === 'restart' && this.entry === null) this.arm();
        if (this.running === t) this.running = null;
      });
    });
  }
}
