import { Errno } from './errno.ts';
import type { Kernel } from './kernel.ts';
import type { Blocker, Thread } from './thread.ts';

/** What a primary handler returns (`irqreturn_t`). */
export type IrqReturn = 0 | 1 | 2;
export const IRQ_NONE: IrqReturn = 0;
export const IRQ_HANDLED: IrqReturn = 1;
export const IRQ_WAKE_THREAD: IrqReturn = 2;

/** `request_irq` flags (include/linux/interrupt.h). */
export const IRQF_SHARED = 0x80;
export const IRQF_PERCPU = 0x400;
export const IRQF_ONESHOT = 0x2000;
export const IRQF_NO_THREAD = 0x10000;

/** Primary handler: hardirq context, atomic, must not sleep. */
export type IrqHandler = (irq: number, devId: unknown) => IrqReturn;
/** Threaded handler: runs in the line's irq thread (process context); may sleep. */
export type IrqThreadFn = (irq: number, devId: unknown) => Promise<IrqReturn> | IrqReturn;

/** Options of `requestIrq` / `requestThreadedIrq`. */
export interface IrqRequest {
  flags?: number;
  /** `dev_id`: passed to the handlers; identifies the action for `freeIrq` on shared lines. */
  devId?: unknown;
}

/** @kernel struct irqaction */
class IrqAction {
  thread: Thread | null = null;
  /** `IRQTF_RUNTHREAD`. */
  runThread = false;
  /** The thread function is running. */
  threadBusy = false;
  constructor(
    readonly handler: IrqHandler,
    readonly threadFn: IrqThreadFn | null,
    readonly name: string,
    readonly flags: number,
    readonly devId: unknown,
  ) {}
}

/**
 * `struct irq_desc`: one interrupt line. A raised interrupt becomes a
 * hardirq context that the scheduler runs at a point the chooser picks;
 * raising again before it ran coalesces, as a pending bit in an interrupt
 * controller does.
 *
 * @kernel struct irq_desc (kernel/irq/)
 */
export class IrqDesc {
  readonly actions: IrqAction[] = [];
  /** `disable_irq` nesting depth. */
  depth = 0;
  /** `IRQS_PENDING`: raised while disabled or masked; replayed on enable. */
  pending = false;
  /** Masked until a oneshot thread handler finishes. */
  oneshotMasked = false;
  /** The hardirq context raised and not yet finished. */
  inflight: Thread | null = null;
  /** `threads_active`. */
  threadsActive = 0;
  /** Interrupts nobody handled (`irqs_unhandled`). */
  unhandled = 0;
  /** Handler invocations (`kstat_irqs`). */
  count = 0;
  /** @internal */
  readonly waiters: Thread[] = [];

  constructor(
    readonly kernel: Kernel,
    readonly irq: number,
  ) {}

  /** @internal wake synchronize_irq / free_irq waiters. */
  notify(): void {
    for (const t of this.waiters.splice(0)) this.kernel.wake(t);
  }

  /** @internal */
  get masked(): boolean {
    return this.depth > 0 || this.oneshotMasked || this.actions.length === 0;
  }
}

const lines = new WeakMap<Kernel, Map<number, IrqDesc>>();

/**
 * The descriptor of line `irq` (created on first use).
 *
 * @kernel irq_to_desc
 */
export function irqToDesc(k: Kernel, irq: number): IrqDesc {
  let m = lines.get(k);
  if (!m) lines.set(k, (m = new Map<number, IrqDesc>()));
  let d = m.get(irq);
  if (!d) m.set(irq, (d = new IrqDesc(k, irq)));
  return d;
}

/**
 * `request_irq`: install `handler` on line `irq`. Returns 0, `-EBUSY` if the
 * line is taken (and not shared by both), `-EINVAL` without a handler.
 * Callable from setup or process context.
 *
 * @kernel request_irq
 */
export function requestIrq(k: Kernel, irq: number, handler: IrqHandler, name: string, opts: IrqRequest = {}): number {
  return requestThreadedIrq(k, irq, handler, null, name, opts);
}

/**
 * `request_threaded_irq`: `handler` runs in hardirq context and returns
 * `IRQ_WAKE_THREAD` to run `threadFn` in the line's irq thread
 * (`irq/<n>-<name>`, process context). A null `handler` means "always wake
 * the thread" and needs `IRQF_ONESHOT` (else `-EINVAL`, as in the kernel);
 * with `IRQF_ONESHOT` the line stays masked until `threadFn` returns.
 *
 * @kernel request_threaded_irq
 */
export function requestThreadedIrq(
  k: Kernel,
  irq: number,
  handler: IrqHandler | null,
  threadFn: IrqThreadFn | null,
  name: string,
  opts: IrqRequest = {},
): number {
  const flags = opts.flags ?? 0;
  if (!handler && !threadFn) return -Errno.EINVAL;
  if (!handler && (flags & IRQF_ONESHOT) === 0) return -Errno.EINVAL;
  if ((flags & IRQF_SHARED) !== 0 && opts.devId === undefined) return -Errno.EINVAL;
  const desc = irqToDesc(k, irq);
  if (desc.actions.length > 0 && (desc.actions.some((a) => (a.flags & IRQF_SHARED) === 0) || (flags & IRQF_SHARED) === 0)) {
    return -Errno.EBUSY;
  }
  const action = new IrqAction(handler ?? (() => IRQ_WAKE_THREAD), threadFn, name, flags, opts.devId ?? null);
  if (threadFn) {
    action.thread = k.kthreadRun(`irq/${irq}-${name}`, (self) => irqThread(desc, action, self), { daemon: true });
  }
  desc.actions.push(action);
  if (desc.pending && !desc.masked) resend(desc);
  return 0;
}

/** The irq thread: waits for `IRQTF_RUNTHREAD`, runs the thread function, unmasks a oneshot line. */
async function irqThread(desc: IrqDesc, action: IrqAction, self: Thread): Promise<number> {
  const k = desc.kernel;
  const idle: Blocker = { describe: () => `irq ${desc.irq} thread idle`, owners: () => [] };
  for (;;) {
    // Like irq_wait_for_interrupt: a pending run is served even when asked to stop.
    while (!action.runThread) {
      if (self.shouldStop) return 0;
      self.daemon = true;
      await k.block(self, idle, 'irq_thread');
    }
    action.runThread = false;
    self.daemon = false;
    action.threadBusy = true;
    k.hb?.acquire(self, action);
    await action.threadFn!(desc.irq, action.devId);
    action.threadBusy = false;
    k.hb?.release(self, desc);
    if ((action.flags & IRQF_ONESHOT) !== 0 && desc.oneshotMasked) {
      desc.oneshotMasked = false;
      if (desc.pending && !desc.masked) resend(desc);
    }
    desc.threadsActive--;
    desc.notify();
  }
}

function wakeThread(desc: IrqDesc, action: IrqAction): void {
  desc.kernel.hb?.release(desc.kernel.currentOrNull, action);
  if (action.runThread) return;
  action.runThread = true;
  desc.threadsActive++;
  if ((action.flags & IRQF_ONESHOT) !== 0) desc.oneshotMasked = true;
  desc.kernel.wake(action.thread!);
}

function resend(desc: IrqDesc): void {
  desc.pending = false;
  deliver(desc);
}

function deliver(desc: IrqDesc): void {
  const k = desc.kernel;
  desc.inflight = k.spawnContext('hardirq', `irq/${desc.irq}`, (t) => {
    handleIrq(desc, t);
  });
}

/** @kernel handle_irq_event: runs every action of the line in hardirq context. */
function handleIrq(desc: IrqDesc, t: Thread): void {
  const k = desc.kernel;
  // Raise → handler; and the line's previous handler (desc->lock around handle_irq_event).
  k.hb?.acquire(t, desc);
  try {
    if (desc.masked) {
      // Disabled or freed between raise and delivery: keep it for enable_irq.
      if (desc.actions.length > 0) desc.pending = true;
      return;
    }
    desc.count++;
    let ret = 0;
    for (const a of [...desc.actions]) {
      // lockdep_hardirq_threaded(): handlers that would be threads on RT.
      t.hardirqThreaded = (a.flags & (IRQF_NO_THREAD | IRQF_PERCPU | IRQF_ONESHOT)) === 0;
      if (k.events.active) k.emit('irq', { irq: String(desc.irq), handler: a.name });
      const r = a.handler(desc.irq, a.devId);
      if (r === IRQ_WAKE_THREAD) {
        if (a.thread) {
          wakeThread(desc, a);
        } else {
          k.splat({
            rule: 'irq.wake_thread_without_thread',
            severity: 'warn',
            headline: `WARNING: irq ${desc.irq} handler ${a.name} tried to wake a thread but no thread function available`,
            thread: t,
          });
        }
      }
      ret |= r;
    }
    if (ret === IRQ_NONE) desc.unhandled++;
  } finally {
    if (desc.inflight === t) desc.inflight = null;
    k.hb?.release(t, desc);
    desc.notify();
  }
}

/**
 * Raise line `irq` (what a device does). If the line is enabled, a hardirq
 * context running its handlers becomes runnable; if disabled or masked the
 * interrupt stays pending until `enableIrq`; if one is already in flight the
 * two coalesce. Any context, also outside threads (device timers).
 *
 * @kernel generic_handle_irq (the device side: the interrupt arrives on line `irq`)
 */
export function raiseIrq(k: Kernel, irq: number): void {
  const desc = irqToDesc(k, irq);
  k.hb?.release(k.currentOrNull, desc);
  if (desc.inflight && desc.inflight.state === 'new') return;
  if (desc.masked) {
    desc.pending = true;
    return;
  }
  deliver(desc);
}

async function waitDesc(desc: IrqDesc, done: () => boolean, op: string): Promise<void> {
  const k = desc.kernel;
  const self = k.current;
  const blocker: Blocker = {
    describe: () => `irq ${desc.irq} handlers`,
    owners: () => [...(desc.inflight ? [desc.inflight] : []), ...desc.actions.flatMap((a) => (a.thread && (a.threadBusy || a.runThread) ? [a.thread] : []))],
  };
  while (!done()) {
    desc.waiters.push(self);
    await k.block(self, blocker, op);
  }
}

/**
 * `synchronize_irq`: wait until no hardirq handler of the line is in flight
 * and no thread handler is pending or running. Process context.
 *
 * @kernel synchronize_irq
 */
export async function synchronizeIrq(k: Kernel, irq: number): Promise<void> {
  k.mightSleep('synchronize_irq');
  const desc = irqToDesc(k, irq);
  await waitDesc(desc, () => desc.inflight === null && desc.threadsActive === 0, 'synchronize_irq');
  k.hb?.acquire(k.current, desc);
}

/** `disable_irq_nosync`: mask the line without waiting. Any context. @kernel disable_irq_nosync */
export function disableIrqNosync(k: Kernel, irq: number): void {
  irqToDesc(k, irq).depth++;
}

/** `disable_irq`: mask the line and wait for running handlers. Process context. @kernel disable_irq */
export async function disableIrq(k: Kernel, irq: number): Promise<void> {
  disableIrqNosync(k, irq);
  await synchronizeIrq(k, irq);
}

/**
 * `enable_irq`: undo one `disable_irq`; at depth 0 an interrupt that arrived
 * meanwhile is delivered. An unbalanced enable is a WARN. Any context.
 *
 * @kernel enable_irq
 */
export function enableIrq(k: Kernel, irq: number): void {
  const desc = irqToDesc(k, irq);
  if (desc.depth === 0) {
    k.splat({ rule: 'irq.unbalanced_enable', severity: 'warn', headline: `WARNING: Unbalanced enable for IRQ ${irq}` });
    return;
  }
  desc.depth--;
  if (desc.pending && !desc.masked && !desc.inflight) resend(desc);
}

/**
 * `free_irq`: remove the action (`devId` picks it on a shared line), wait
 * for running handlers, stop its irq thread. Returns the action's name, or
 * null (with a WARN) if there was none. Process context.
 *
 * @kernel free_irq
 */
export async function freeIrq(k: Kernel, irq: number, devId?: unknown): Promise<string | null> {
  k.mightSleep('free_irq');
  const desc = irqToDesc(k, irq);
  const i = desc.actions.findIndex((a) => devId === undefined || a.devId === devId);
  const action = desc.actions[i];
  if (!action) {
    k.splat({ rule: 'irq.free_already_free', severity: 'warn', headline: `WARNING: Trying to free already-free IRQ ${irq}` });
    return null;
  }
  desc.actions.splice(i, 1);
  await waitDesc(desc, () => desc.inflight === null, 'free_irq');
  if (action.thread) await k.kthreadStop(action.thread);
  if (desc.actions.length === 0) {
    desc.pending = false;
    desc.oneshotMasked = false;
  }
  return action.name;
}
