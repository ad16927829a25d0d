import {
  allocWorkqueue,
  cancelDelayedWork,
  DelayedWork,
  Errno,
  modDelayedWork,
  SpinLock,
  WaitQueueHead,
  WQ_FREEZABLE,
} from '../kernel/index.ts';
import type { Kernel, WorkqueueStruct } from '../kernel/index.ts';

/** `enum rpm_status`. */
export type RpmStatus = 'active' | 'resuming' | 'suspended' | 'suspending';

/** A device's runtime-PM callbacks (`dev_pm_ops.runtime_suspend / runtime_resume`); process context, may sleep. */
export interface RuntimePmCallbacks {
  /** Power up: may allocate and take locks (which is why it must not run in a fence signalling path). 0 or -errno. */
  resume(): Promise<number> | number;
  /** Power down. 0 or -errno (-EBUSY keeps the device active). */
  suspend(): Promise<number> | number;
}

const pmWqs = new WeakMap<Kernel, WorkqueueStruct>();

/** `pm_wq`: the freezable queue runtime-PM work runs on. @kernel pm_wq */
export function pmWq(k: Kernel): WorkqueueStruct {
  let wq = pmWqs.get(k);
  if (!wq) pmWqs.set(k, (wq = allocWorkqueue(k, 'pm', WQ_FREEZABLE, 0)));
  return wq;
}

/**
 * A device's runtime power management: a usage count, a status, an
 * autosuspend delay, and the driver's resume / suspend callbacks. `resume`
 * runs synchronously in the caller's context (`rpm_resume` calls the
 * callback with `power.lock` dropped), so a caller inside a fence
 * signalling section inherits whatever the callback allocates or locks.
 * Autosuspend runs the suspend callback from `pm_wq` after the delay.
 *
 * @kernel struct dev_pm_info, pm_runtime_get_sync, pm_runtime_resume_and_get, pm_runtime_put_autosuspend, pm_runtime_force_suspend (drivers/base/power/runtime.c)
 */
export class RuntimePm {
  /** `power.usage_count`. */
  usageCount = 0;
  /** `power.runtime_status`; a device starts suspended. */
  status: RpmStatus = 'suspended';
  /** `power.autosuspend_delay` in ms (`pm_runtime_set_autosuspend_delay`); negative disables autosuspend. */
  autosuspendDelayMs: number;
  /** `power.lock`. */
  readonly lock: SpinLock;
  /** Resumes and suspends done (statistics for tests). */
  resumes = 0;
  suspends = 0;
  private readonly statusWq: WaitQueueHead;
  private readonly suspendWork: DelayedWork;

  constructor(
    readonly kernel: Kernel,
    readonly name: string,
    readonly callbacks: RuntimePmCallbacks,
    opts: { autosuspendDelayMs?: number } = {},
  ) {
    this.autosuspendDelayMs = opts.autosuspendDelayMs ?? 50;
    this.lock = new SpinLock(kernel, '&dev->power.lock', { key: 'dev_pm_info.lock' });
    this.statusWq = new WaitQueueHead(kernel, `${name}.power.wait_queue`);
    this.suspendWork = new DelayedWork(kernel, () => this.idleWork(), `rpm_suspend(${name})`, { key: 'pm_runtime_work' });
  }

  /** True while powered. */
  get active(): boolean {
    return this.status === 'active';
  }

  /**
   * `pm_runtime_resume_and_get`: +1 usage, resume if needed (running the
   * resume callback here, in the caller's context). On failure the usage
   * count is dropped again and the error returned. Process context.
   */
  async resumeAndGet(): Promise<number> {
    const ret = await this.getSync();
    if (ret < 0) {
      this.putNoidle();
      return ret;
    }
    return 0;
  }

  /** `pm_runtime_get_sync`: +1 usage and resume; the count stays raised even on failure (the classic pitfall). */
  async getSync(): Promise<number> {
    this.kernel.mightSleep('pm_runtime_get_sync');
    const fl = this.lock.lockIrqsave();
    this.usageCount++;
    cancelDelayedWork(this.suspendWork);
    this.lock.unlockIrqrestore(fl);
    return this.rpmResume();
  }

  /** `pm_runtime_get_noresume`: +1 usage without resuming (xe takes it at job creation). Any context. */
  getNoresume(): void {
    this.usageCount++;
  }

  /** `pm_runtime_put_noidle`: -1 usage without idling. Any context. */
  putNoidle(): void {
    if (this.usageCount > 0) this.usageCount--;
    else this.underflow();
  }

  /** `pm_runtime_mark_last_busy`: restarts the autosuspend delay at the next put. */
  markLastBusy(): void {
    /* The delay is measured from the put in the model. */
  }

  /**
   * `pm_runtime_put_autosuspend`: -1 usage; at zero, suspend after the
   * autosuspend delay (from `pm_wq`). Any context (atomic included).
   */
  putAutosuspend(): void {
    const fl = this.lock.lockIrqsave();
    if (this.usageCount <= 0) {
      this.lock.unlockIrqrestore(fl);
      this.underflow();
      return;
    }
    this.usageCount--;
    if (this.usageCount === 0 && this.status === 'active' && this.autosuspendDelayMs >= 0) {
      const k = this.kernel;
      modDelayedWork(pmWq(k), this.suspendWork, k.msecsToJiffies(this.autosuspendDelayMs));
    }
    this.lock.unlockIrqrestore(fl);
  }

  /** `pm_runtime_put`: -1 usage; at zero, suspend soon (queued at once). Any context. */
  put(): void {
    const saved = this.autosuspendDelayMs;
    this.autosuspendDelayMs = 0;
    this.putAutosuspend();
    this.autosuspendDelayMs = saved;
  }

  /**
   * `pm_runtime_force_suspend`: suspend now whatever the usage count (system
   * sleep, or a reset done as forced suspend + resume). Process context.
   */
  async forceSuspend(): Promise<number> {
    this.kernel.mightSleep('pm_runtime_force_suspend');
    if (this.status !== 'active') return 0;
    return this.rpmSuspend();
  }

  /** `pm_runtime_force_resume`: resume now (the reset's second half). Process context. */
  async forceResume(): Promise<number> {
    this.kernel.mightSleep('pm_runtime_force_resume');
    return this.rpmResume();
  }

  /** `rpm_resume`: run the resume callback unless active; waits for a concurrent transition. */
  private async rpmResume(): Promise<number> {
    for (;;) {
      if (this.status === 'active') return 1;
      if (this.status === 'suspended') break;
      await this.statusWq.waitEvent(() => this.status === 'active' || this.status === 'suspended');
    }
    this.status = 'resuming';
    const ret = await this.callbacks.resume();
    this.status = ret < 0 ? 'suspended' : 'active';
    if (ret >= 0) this.resumes++;
    this.statusWq.wakeUpAll();
    return ret < 0 ? ret : 0;
  }

  /** `rpm_suspend`: run the suspend callback. */
  private async rpmSuspend(): Promise<number> {
    this.status = 'suspending';
    const ret = await this.callbacks.suspend();
    this.status = ret < 0 ? 'active' : 'suspended';
    if (ret >= 0) this.suspends++;
    this.statusWq.wakeUpAll();
    return ret;
  }

  /** The autosuspend work (`pm_runtime_work` → `rpm_suspend` when idle). */
  private async idleWork(): Promise<void> {
    if (this.usageCount > 0 || this.status !== 'active') return;
    const ret = await this.rpmSuspend();
    if (ret === -Errno.EBUSY) return;
  }

  private underflow(): void {
    this.kernel.splat({
      rule: 'pm.usage_count_underflow',
      severity: 'warn',
      headline: `WARNING: ${this.name}: runtime PM usage count underflow`,
      body: 'A pm_runtime_put*() without a matching get. Every path that drops a PM reference must have taken one.',
      data: { device: this.name },
    });
  }
}
