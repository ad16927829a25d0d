import type { Kernel } from './kernel.ts';
import type { Blocker, Thread } from './thread.ts';

/** An irq_work callback: hardirq context, atomic. */
export type IrqWorkFunc = (work: IrqWork) => void;

/**
 * `struct irq_work`: a callback run "soon" in hardirq context (the kernel
 * raises a self-IPI). The callback context is runnable at once and runs
 * when the chooser picks it. A hard irq_work (`IRQ_WORK_INIT_HARD`) is not
 * threadable on RT, so the wait-context check only allows raw spinlocks in
 * it; a plain one allows `spinlock_t`.
 *
 * @kernel init_irq_work, IRQ_WORK_INIT_HARD (kernel/irq_work.c)
 */
export class IrqWork {
  /** `IRQ_WORK_PENDING`. */
  pending = false;
  /** The context running (or about to run) the callback (`IRQ_WORK_BUSY`). */
  running: Thread | null = null;
  private readonly waiters: Thread[] = [];

  constructor(
    readonly kernel: Kernel,
    readonly func: IrqWorkFunc,
    readonly name = 'irq_work',
    readonly hard = false,
  ) {}

  /** @internal */
  run(t: Thread): void {
    // PENDING clears before the callback, so it may requeue itself.
    this.pending = false;
    t.hardirqThreaded = !this.hard;
    const hb = this.kernel.hb;
    hb?.acquire(t, this);
    try {
      this.func(this);
    } finally {
      hb?.release(t, this);
      if (this.running === t) this.running = null;
      for (const w of this.waiters.splice(0)) this.kernel.wake(w);
    }
  }

  /** @internal */
  async sync(): Promise<void> {
    const k = this.kernel;
    const self = k.current;
    const blocker: Blocker = { describe: () => `irq_work ${this.name}`, owners: () => (this.running ? [this.running] : []) };
    while (this.pending || this.running) {
      this.waiters.push(self);
      await k.block(self, blocker, 'irq_work_sync');
    }
    k.hb?.acquire(self, this);
  }
}

/** `init_irq_work` (or `IRQ_WORK_INIT_HARD` with `hard`). @kernel init_irq_work */
export function initIrqWork(k: Kernel, func: IrqWorkFunc, name = 'irq_work', opts: { hard?: boolean } = {}): IrqWork {
  return new IrqWork(k, func, name, opts.hard ?? false);
}

/**
 * `irq_work_queue`: run the callback in hardirq context soon. Returns false
 * if it was already pending. Any context (including NMI in the kernel).
 *
 * @kernel irq_work_queue
 */
export function irqWorkQueue(work: IrqWork): boolean {
  work.kernel.hb?.release(work.kernel.currentOrNull, work);
  if (work.pending) return false;
  work.pending = true;
  work.running = work.kernel.spawnContext('hardirq', `irq_work:${work.name}`, (t) => {
    work.run(t);
  });
  return true;
}

/** `irq_work_is_pending`. @kernel irq_work_is_pending */
export function irqWorkIsPending(work: IrqWork): boolean {
  return work.pending;
}

/** `irq_work_is_busy`: pending or running. @kernel irq_work_is_busy */
export function irqWorkIsBusy(work: IrqWork): boolean {
  return work.pending || work.running !== null;
}

/**
 * `irq_work_sync`: wait until the work is neither pending nor running.
 * Process context; sleeps (the kernel's rcuwait variant).
 *
 * @kernel irq_work_sync
 */
export function irqWorkSync(work: IrqWork): Promise<void> {
  work.kernel.mightSleep('irq_work_sync');
  return work.sync();
}
