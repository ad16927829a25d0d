import { dmaFenceMightWait } from '../check/index.ts';
import { Errno, GFP_KERNEL, kfree, kmalloc, timeoutArg, WOULD_SLEEP } from '../kernel/index.ts';
import type { Blocker, Kernel, Thread } from '../kernel/index.ts';
import { cbAddHead, cbUnlink, DmaFenceCb } from './callback.ts';
import type { DmaFence } from './forward.ts';
import { dmaFenceSignallers } from './signaller.ts';
import { SIGNALED } from './flags.ts';
import { fenceName, fenceSplat, markObserved } from './rules.ts';
import { fenceLock, fenceUnlock } from './lock.ts';
import { fenceId } from './state.ts';

/** `struct default_wait_cb`: wakes the waiting task. */
class DefaultWaitCb extends DmaFenceCb {
  constructor(readonly task: Thread) {
    super();
  }
}

/** `dma_fence_default_wait_cb`: `wake_up_state(task, TASK_NORMAL)`. */
function defaultWaitCbFunc(f: DmaFence, cb: DmaFenceCb): void {
  if (cb instanceof DefaultWaitCb) f.kernel.wake(cb.task);
}

/**
 * One line for a report of a wait that never ends: the fence, who was
 * expected to signal it (the declared signaller, the driver's description
 * such as the scheduler job, else its timeline), and its last event.
 *
 * @kernel none: report text (dma_fence_describe prints a fence on its own)
 */
export function describeWaitedFence(f: DmaFence): string {
  const k = f.kernel;
  const declared = f.signaller?.() ?? [];
  const drivers = f.ops.signallers?.(f) ?? [];
  const who =
    declared.length > 0
      ? `${declared.map((t) => t.name).join(', ')} (declared signaller)`
      : (f.ops.describeSignaller?.(f) ??
        (drivers.length > 0
          ? `${drivers.map((t) => t.name).join(', ')} (the driver's signallers)`
          : `whoever advances timeline ${f.ops.getTimelineName(f)} (context ${f.context}); no signaller declared`));
  const ev = f.lastEvent;
  const last = ev ? `${ev.what} by ${ev.thread ?? 'a timer'} at ${(ev.timeNs / 1e6).toFixed(3)} ms` : k.hb === null ? 'not recorded (checkers off)' : 'none recorded';
  return `dma_fence ${f.ops.getDriverName(f)}:${f.ops.getTimelineName(f)} context ${f.context} seqno ${f.seqno}: expected signaller ${who}; last event: ${last}`;
}

function fenceBlocker(fences: readonly DmaFence[]): Blocker {
  return {
    detail: () => fences.filter((f) => (f.flags & SIGNALED) === 0).map(describeWaitedFence),
    describe: () =>
      fences.length === 1
        ? `dma_fence ${fenceName(fences[0]!)}`
        : `any of ${fences.length} dma_fences`,
    owners: () => {
      const out: Thread[] = [];
      for (const f of fences) {
        if ((f.flags & SIGNALED) !== 0) continue;
        for (const t of dmaFenceSignallers(f)) if (!out.includes(t)) out.push(t);
      }
      return out;
    },
  };
}

/**
 * One `schedule_timeout(ret)` step of a wait with an absolute jiffies
 * deadline: block until woken, the deadline or (intr) a signal. Returns the
 * remaining jiffies (0 at the deadline; `MAX_SCHEDULE_TIMEOUT` stays).
 */
async function sleepUntil(
  k: Kernel,
  t: Thread,
  blocker: Blocker,
  op: string,
  deadlineJ: number,
  intr: boolean,
): Promise<number> {
  if (deadlineJ === Number.POSITIVE_INFINITY) {
    await k.block(t, blocker, op, { interruptible: intr });
    return deadlineJ;
  }
  await k.block(t, blocker, op, {
    timeoutNs: k.jiffiesToNs(deadlineJ) - k.nowNs,
    interruptible: intr,
  });
  return Math.max(0, deadlineJ - k.jiffies);
}

function jiffiesOrNull(j: number): number | null {
  return j === Number.POSITIVE_INFINITY ? null : j;
}

/**
 * `dma_fence_wait_timeout`: WARN and -EINVAL for a negative timeout; else
 * `might_sleep`, the `dma_fence_map` wait annotation (before looking at the
 * fence), a scheduling point, `enable_sw_signaling`, then the driver's `wait`
 * op or the default wait. Returns -ERESTARTSYS if interrupted (intr), 0 on
 * timeout, else the remaining jiffies (at least 1; `MAX_SCHEDULE_TIMEOUT`
 * stays `Infinity`). A signalled fence with a zero timeout gives 1.
 * Process context. Where the caller cannot sleep (a fence callback, an IRQ
 * handler: `Kernel.sleeping`) a signalled fence returns at once, a wait
 * with a timeout ends at once as timed out (0), and an unbounded wait on a
 * pending fence kills the context.
 *
 * @kernel dma_fence_wait_timeout
 */
export function dmaFenceWaitTimeout(f: DmaFence, intr: boolean, timeoutJiffies: number): Promise<number> {
  const k = f.kernel;
  timeoutArg('dma_fence_wait_timeout(fence, intr, timeout)', 'timeout', timeoutJiffies);
  if (!(timeoutJiffies >= 0)) {
    fenceSplat(
      k,
      'fence.invalid_argument',
      `WARNING: dma_fence_wait_timeout() with timeout ${timeoutJiffies}`,
      'timeouts are jiffies >= 0 or MAX_SCHEDULE_TIMEOUT',
    );
    return Promise.resolve(-Errno.EINVAL);
  }
  return k.sleeping(
    'dma_fence_wait_timeout',
    () => (f.isSignaled() ? (timeoutJiffies !== 0 ? timeoutJiffies : 1) : WOULD_SLEEP),
    () => waitTimeoutSlow(f, intr, timeoutJiffies),
    timeoutJiffies === Number.POSITIVE_INFINITY ? undefined : () => 0,
  );
}

async function waitTimeoutSlow(f: DmaFence, intr: boolean, timeoutJiffies: number): Promise<number> {
  const k = f.kernel;
  const t = k.current;
  k.mightSleep('dma_fence_wait_timeout');
  if (k.validator !== null) dmaFenceMightWait(k);
  if (f.refcount.refcount <= 0) f.use('dma_fence_wait_timeout');
  await k.schedulePoint('dma_fence_wait_timeout');
  f.enableSwSignaling();
  if (k.hb !== null) f.noteEvent(timeoutJiffies === 0 ? 'polled (zero timeout)' : 'waited on');
  if (k.events.wants('fence-wait-start')) {
    k.emit('fence-wait-start', {
      fence: fenceId(f),
      context: f.context,
      seqno: f.seqno,
      thread: t.name,
      timeout: jiffiesOrNull(timeoutJiffies),
    });
  }
  const ops = f.ops;
  let ret: number;
  if (ops.wait) {
    markObserved(f);
    ret = await ops.wait(f, intr, timeoutJiffies);
  } else {
    ret = await dmaFenceDefaultWait(f, intr, timeoutJiffies);
  }
  // The wait that returns with the fence signalled sees the signaller's history.
  if (k.hb !== null && (f.flags & SIGNALED) !== 0) k.hb.acquire(t, f);
  if (k.events.wants('fence-wait-end')) {
    k.emit('fence-wait-end', {
      fence: fenceId(f),
      context: f.context,
      seqno: f.seqno,
      thread: t.name,
      result: jiffiesOrNull(ret),
    });
  }
  return ret;
}

/**
 * `dma_fence_default_wait`: `ret = timeout || 1`; signalled → ret; a pending
 * signal with intr → -ERESTARTSYS; zero timeout → 0; else queue a waiter
 * callback at the head of the list and sleep until signalled (remaining
 * jiffies), timeout (0) or interrupt (-ERESTARTSYS). The blocked waiter's
 * owners are the fence's known signallers. Process context.
 *
 * @kernel dma_fence_default_wait
 */
export async function dmaFenceDefaultWait(
  f: DmaFence,
  intr: boolean,
  timeoutJiffies: number,
): Promise<number> {
  const k = f.kernel;
  const t = k.current;
  let ret = timeoutJiffies !== 0 ? timeoutJiffies : 1;
  const lock = f.lock;
  let fl = fenceLock(lock);
  if ((f.flags & SIGNALED) !== 0) {
    fenceUnlock(lock, fl);
    return ret;
  }
  if (intr && t.signalPending) {
    fenceUnlock(lock, fl);
    return -Errno.ERESTARTSYS;
  }
  if (timeoutJiffies === 0) {
    fenceUnlock(lock, fl);
    return 0;
  }
  const cb = new DefaultWaitCb(t);
  cb.func = defaultWaitCbFunc;
  cbAddHead(f, cb);
  markObserved(f);
  const blocker = fenceBlocker([f]);
  const deadlineJ =
    timeoutJiffies === Number.POSITIVE_INFINITY ? timeoutJiffies : k.jiffies + timeoutJiffies;
  while ((f.flags & SIGNALED) === 0 && ret > 0) {
    fenceUnlock(lock, fl);
    ret = await sleepUntil(k, t, blocker, 'dma_fence_default_wait', deadlineJ, intr);
    fl = fenceLock(lock);
    if (ret > 0 && intr && t.signalPending) ret = -Errno.ERESTARTSYS;
  }
  if (cb.owner !== null) cbUnlink(cb.owner, cb);
  fenceUnlock(lock, fl);
  return ret;
}

/** Result of `dmaFenceWaitAnyTimeout`: the wait result and, for a positive result, the first signalled index. */
export interface WaitAnyResult {
  readonly ret: number;
  readonly idx: number | null;
}

/**
 * `dma_fence_wait_any_timeout`: WARN and -EINVAL for no fences or a negative
 * timeout. Zero timeout: 1 (idx = first signalled, via `isSignaled`) or 0.
 * Otherwise allocates one waiter per fence (-ENOMEM), adds them in index
 * order (an already-signalled fence ends the wait at once with `timeout`
 * unchanged), sleeps until any fence is signalled (lowest index), the
 * timeout (0) or an interrupt (-ERESTARTSYS), and removes the waiters. idx
 * is meaningful only for a positive result. Like the kernel, it does not
 * take the `dma_fence_map` wait annotation. Process context.
 *
 * @kernel dma_fence_wait_any_timeout
 */
export async function dmaFenceWaitAnyTimeout(
  k: Kernel,
  fences: readonly DmaFence[],
  intr: boolean,
  timeoutJiffies: number,
): Promise<WaitAnyResult> {
  if (
    (fences as readonly DmaFence[] | null) === null ||
    fences.length === 0 ||
    !(timeoutJiffies >= 0)
  ) {
    fenceSplat(
      k,
      'fence.invalid_argument',
      'WARNING: dma_fence_wait_any_timeout() with no fences or a negative timeout',
      '',
    );
    return { ret: -Errno.EINVAL, idx: null };
  }
  const t = k.current;
  await k.schedulePoint('dma_fence_wait_any_timeout');
  if (timeoutJiffies === 0) {
    for (let i = 0; i < fences.length; i++) if (fences[i]!.isSignaled()) return { ret: 1, idx: i };
    return { ret: 0, idx: null };
  }
  const buf = kmalloc(k, fences.length * 32, GFP_KERNEL, 'dma_fence_wait_any_timeout');
  if (buf === null) return { ret: -Errno.ENOMEM, idx: null };
  const cbs: DefaultWaitCb[] = [];
  let ret = timeoutJiffies;
  let idx: number | null = null;
  let i = 0;
  for (; i < fences.length; i++) {
    const cb = new DefaultWaitCb(t);
    cbs.push(cb);
    if (fences[i]!.addCallback(cb, defaultWaitCbFunc) !== 0) {
      idx = i;
      break;
    }
  }
  if (idx === null) {
    for (const f of fences) markObserved(f);
    const blocker = fenceBlocker(fences);
    const deadlineJ =
      timeoutJiffies === Number.POSITIVE_INFINITY ? timeoutJiffies : k.jiffies + timeoutJiffies;
    while (ret > 0) {
      const hit = fences.findIndex((f) => (f.flags & SIGNALED) !== 0);
      if (hit >= 0) {
        idx = hit;
        break;
      }
      ret = await sleepUntil(k, t, blocker, 'dma_fence_wait_any_timeout', deadlineJ, intr);
      if (ret > 0 && intr && t.signalPending) ret = -Errno.ERESTARTSYS;
    }
  }
  while (i-- > 0) fences[i]!.removeCallback(cbs[i]!);
  kfree(k, buf);
  const hb = k.hb;
  if (hb !== null) for (const f of fences) if ((f.flags & SIGNALED) !== 0) hb.acquire(t, f);
  return { ret, idx };
}
