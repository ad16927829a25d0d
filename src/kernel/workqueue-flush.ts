import { WOULD_SLEEP } from './kernel.ts';
import type { Kernel } from './kernel.ts';
import type { LockdepMap } from './lockdep-map.ts';
import { WQ_MEM_RECLAIM, workerOf } from './workqueue.ts';
import type { WorkqueueStruct, WorkStruct } from './workqueue.ts';

// Flushing, cancelling and destroying workqueues, with the lockdep
// annotations that make "hold L, flush W" against "W takes L" a cycle.

function touch(k: Kernel, map: LockdepMap): void {
  k.lockAcquire(map, 0, false, 0, true, null);
  k.lockRelease(map);
}

const warned = new WeakMap<Kernel, Set<string>>();

/** @kernel check_flush_dependency: a reclaim-safe context must not wait on a queue without a rescuer. */
function checkFlushDependency(k: Kernel, target: WorkqueueStruct, work: WorkStruct | null): void {
  if ((target.flags & WQ_MEM_RECLAIM) !== 0) return;
  const t = k.current;
  const w = workerOf(t);
  const what = `${target.name}:${work?.name ?? '0x0'}`;
  let headline: string | null = null;
  if (t.inReclaim) headline = `workqueue: PF_MEMALLOC task ${t.id}(${t.name}) is flushing !WQ_MEM_RECLAIM ${what}`;
  else if (w?.current && w.wq.rescuer) headline = `workqueue: WQ_MEM_RECLAIM ${w.wq.name}:${w.current.work.name} is flushing !WQ_MEM_RECLAIM ${what}`;
  if (!headline) return;
  let seen = warned.get(k);
  if (!seen) warned.set(k, (seen = new Set()));
  if (seen.has(headline)) return; // WARN_ONCE
  seen.add(headline);
  k.splat({ rule: 'workqueue.flush_dependency', severity: 'warn', headline, data: { target: target.name, work: work?.name ?? null } });
}

async function flushWorkCommon(work: WorkStruct, fromCancel: boolean, op: string): Promise<boolean> {
  const k = work.kernel;
  k.mightSleep(op);
  const inst = fromCancel ? work.runningInst : (work.pendingInst ?? work.runningInst);
  if (!inst) return false;
  const wq = inst.wq;
  if (!fromCancel) checkFlushDependency(k, wq, work);
  touch(k, work.dep);
  // Forces a recursion report when flushing from inside a single-threaded
  // or rescuer-equipped queue (the rescuer may be the only worker left).
  if (!fromCancel && (wq.maxActive === 1 || wq.rescuer)) touch(k, wq.dep);
  await wq.waitRetired(() => inst.retired, op, `${op}(${work.name})`, () => (inst.worker ? [inst.worker] : wq.busyWorkers()));
  k.hb?.acquire(k.current, inst);
  return true;
}

/**
 * `flush_work`: wait until the last queueing of `work` has finished running.
 * Returns false if it was idle (nothing to wait for; no lockdep annotation,
 * as in the kernel). Process context; sleeps.
 *
 * Where the caller cannot sleep (`Kernel.sleeping`) an idle item returns
 * false at once and a queued or running one kills the context.
 *
 * @kernel flush_work
 */
export function flushWork(work: WorkStruct): Promise<boolean> {
  return work.kernel.sleeping(
    'flush_work',
    () => ((work.pendingInst ?? work.runningInst) ? WOULD_SLEEP : false),
    () => flushWorkCommon(work, false, 'flush_work'),
  );
}

/**
 * `flush_workqueue`: wait until every item queued or running when it was
 * called has finished (later items are not waited for). Process context.
 *
 * @kernel __flush_workqueue
 */
export function flushWorkqueue(wq: WorkqueueStruct): Promise<void> {
  return wq.kernel.sleeping('flush_workqueue', () => (wq.inflight.size > 0 ? WOULD_SLEEP : undefined), () => flushWorkqueueSlow(wq));
}

async function flushWorkqueueSlow(wq: WorkqueueStruct): Promise<void> {
  const k = wq.kernel;
  k.mightSleep('flush_workqueue');
  touch(k, wq.dep);
  checkFlushDependency(k, wq, null);
  const batch = [...wq.inflight];
  await wq.waitRetired(() => batch.every((i) => i.retired), 'flush_workqueue', `flush_workqueue(${wq.name})`, () => wq.busyWorkers());
  const hb = k.hb;
  if (hb !== null) for (const i of batch) hb.acquire(k.current, i);
}

/**
 * `cancel_work_sync`: remove a pending queueing and wait for a running one
 * to finish; while it waits, queueing the item fails. Returns true if it was
 * pending. Process context.
 *
 * @kernel cancel_work_sync
 */
export function cancelWorkSync(work: WorkStruct): Promise<boolean> {
  return work.kernel.sleeping(
    'cancel_work_sync',
    () => (work.runningInst ? WOULD_SLEEP : work.grabPending()),
    () => cancelWorkSyncSlow(work),
  );
}

async function cancelWorkSyncSlow(work: WorkStruct): Promise<boolean> {
  const k = work.kernel;
  k.mightSleep('cancel_work_sync');
  const was = work.grabPending();
  work.canceling++;
  try {
    await flushWorkCommon(work, true, 'cancel_work_sync');
  } finally {
    work.canceling--;
  }
  return was;
}

/** `cancel_work`: remove a pending queueing without waiting; true if it was pending. Any context. @kernel cancel_work */
export function cancelWork(work: WorkStruct): boolean {
  return work.grabPending();
}

/**
 * `drain_workqueue`: flush until the queue is empty; meanwhile only its own
 * items may queue on it (chained work).
 *
 * @kernel drain_workqueue
 */
export async function drainWorkqueue(wq: WorkqueueStruct): Promise<void> {
  wq.draining = true;
  try {
    do await flushWorkqueue(wq);
    while (wq.inflight.size > 0);
  } finally {
    wq.draining = false;
  }
}

/**
 * `destroy_workqueue`: drain, then let the workers exit. Queueing on the
 * queue afterwards is a use after free. Process context.
 *
 * @kernel destroy_workqueue
 */
export async function destroyWorkqueue(wq: WorkqueueStruct): Promise<void> {
  await drainWorkqueue(wq);
  wq.destroyed = true;
  wq.wakeIdleToExit();
}
