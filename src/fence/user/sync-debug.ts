import type { Kernel } from '../../kernel/index.ts';
import { fenceLock, fenceUnlock } from '../lock.ts';
import { TIMESTAMP } from '../flags.ts';
import type { File } from './file.ts';
import type { SyncTimeline } from './forward.ts';

/** Where the sync debug dump lives. */
export const SYNC_INFO_PATH = '/sys/kernel/debug/sync/info';

const timelines = new WeakMap<Kernel, SyncTimeline[]>();

/**
 * `sync_timeline_debug_add`.
 *
 * @kernel sync_timeline_debug_add
 */
export function syncTimelineDebugAdd(obj: SyncTimeline): void {
  let list = timelines.get(obj.kernel);
  if (!list) {
    list = [];
    timelines.set(obj.kernel, list);
  }
  list.push(obj);
}

/**
 * `sync_timeline_debug_remove`.
 *
 * @kernel sync_timeline_debug_remove
 */
export function syncTimelineDebugRemove(obj: SyncTimeline): void {
  const list = timelines.get(obj.kernel);
  const i = list?.indexOf(obj) ?? -1;
  if (i >= 0) list!.splice(i, 1);
}

/**
 * Live sw_sync timelines of `k`, in creation order.
 *
 * @kernel sync_timeline_list (drivers/dma-buf/sync_debug.c)
 */
export function syncTimelines(k: Kernel): readonly SyncTimeline[] {
  return timelines.get(k) ?? [];
}

function statusStr(status: number): string {
  if (status < 0) return 'error';
  if (status > 0) return 'signaled';
  return 'active';
}

/**
 * `sync_info_debugfs_show`: the text of `<debugfs>/sync/info`:
 *
 * ```
 * objs:
 * --------------
 * <name>: <value>
 *   fence <active|signaled|error>[@<sec>.<nsec>]: <seqno> / <value>
 *
 * fences:
 * --------------
 * ```
 *
 * Takes each timeline's lock (statuses may be polled, which can signal).
 * Outside a thread (e.g. after a run) it reads without locking.
 *
 * @kernel sync_info_debugfs_show, sync_print_obj, sync_print_fence (drivers/dma-buf/sync_debug.c)
 */
export function syncInfoDebugfsShow(k: Kernel): string {
  let s = 'objs:\n--------------\n';
  const inThread = k.currentOrNull !== null;
  for (const obj of syncTimelines(k)) {
    s += `${obj.name}: ${obj.value}\n`;
    const fl = inThread ? fenceLock(obj.lock) : 0;
    for (const pt of obj.ptList) {
      const status = inThread ? pt.getStatusLocked() : pt.signalled ? pt.error || 1 : 0;
      s += `  fence ${statusStr(status)}`;
      if ((pt.flags & TIMESTAMP) !== 0) {
        const ns = pt.timestampNs;
        s += `@${Math.floor(ns / 1e9)}.${String(ns % 1e9).padStart(9, '0')}`;
      }
      s += `: ${pt.seqno} / ${obj.value}\n`;
    }
    if (inThread) fenceUnlock(obj.lock, fl);
    s += '\n';
  }
  s += 'fences:\n--------------\n';
  return s;
}

/** The `<debugfs>/sync/info` file. */
export const syncInfoFile: File = {
  fileType: 'sync_info',
  read: (ctx) => syncInfoDebugfsShow(ctx.kernel),
};
