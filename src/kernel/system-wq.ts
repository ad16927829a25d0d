import { queueDelayedWork } from './delayed-work.ts';
import type { DelayedWork } from './delayed-work.ts';
import type { Kernel } from './kernel.ts';
import { allocWorkqueue, queueWork, WQ_HIGHPRI, WQ_MAX_ACTIVE, WQ_UNBOUND } from './workqueue.ts';
import type { WorkqueueStruct, WorkStruct } from './workqueue.ts';

const systemQueues = new WeakMap<Kernel, Map<string, WorkqueueStruct>>();

function systemQueue(k: Kernel, name: string, flags: number, maxActive: number): WorkqueueStruct {
  let m = systemQueues.get(k);
  if (!m) systemQueues.set(k, (m = new Map<string, WorkqueueStruct>()));
  let wq = m.get(name);
  if (!wq) m.set(name, (wq = allocWorkqueue(k, name, flags, maxActive)));
  return wq;
}

/** `system_wq` ("events"): the default queue of `schedule_work`. No `WQ_MEM_RECLAIM`. @kernel system_wq */
export function systemWq(k: Kernel): WorkqueueStruct {
  return systemQueue(k, 'events', 0, 0);
}

/** `system_unbound_wq` ("events_unbound", `WQ_UNBOUND`, max_active `WQ_MAX_ACTIVE`). @kernel system_unbound_wq */
export function systemUnboundWq(k: Kernel): WorkqueueStruct {
  return systemQueue(k, 'events_unbound', WQ_UNBOUND, WQ_MAX_ACTIVE);
}

/** `system_highpri_wq` ("events_highpri", `WQ_HIGHPRI`). @kernel system_highpri_wq */
export function systemHighpriWq(k: Kernel): WorkqueueStruct {
  return systemQueue(k, 'events_highpri', WQ_HIGHPRI, 0);
}

/** `system_long_wq` ("events_long"): for items that may run long. @kernel system_long_wq */
export function systemLongWq(k: Kernel): WorkqueueStruct {
  return systemQueue(k, 'events_long', 0, 0);
}

/** `schedule_work`: `queue_work(system_wq, work)`. Any context. @kernel schedule_work */
export function scheduleWork(work: WorkStruct): boolean {
  return queueWork(systemWq(work.kernel), work);
}

/** `schedule_delayed_work`: `queue_delayed_work(system_wq, dwork, delay)`. Any context. @kernel schedule_delayed_work */
export function scheduleDelayedWork(dwork: DelayedWork, delayJiffies: number): boolean {
  return queueDelayedWork(systemWq(dwork.kernel), dwork, delayJiffies);
}
