import { Errno, Kref, SpinLock } from '../../kernel/index.ts';
import type { Kernel } from '../../kernel/index.ts';
import { fenceAlloc } from '../alloc.ts';
import { DmaFence } from '../fence.ts';
import type { DmaFenceOps } from '../ops.ts';
import { dmaFenceContextAlloc } from '../ordering.ts';
import { DmaFenceFlag, INT_MAX, seqnoIsLater } from '../flags.ts';
import { fenceLock, fenceUnlock } from '../lock.ts';
import { dmaFenceCompleted } from '../completed.ts';
import { isUserStruct, readS32, readU32, readU64 } from './args.ts';
import { OpenFile, registerDevice } from './file.ts';
import type { File, FileContext } from './file.ts';
import { syncFileCreate, syncFileGetFence } from './sync-file.ts';
import {
  syncTimelineDebugAdd,
  syncTimelineDebugRemove,
  SYNC_INFO_PATH,
  syncInfoFile,
} from './sync-debug.ts';

declare module './forward.ts' {
  /** The forward-declared `SyncTimeline` of the files below this one is this class. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging: adds SyncTimeline's members
  interface SyncTimeline extends SyncTimelineClass {}
}
/** The class, under a name the merged declaration above can extend. */
type SyncTimelineClass = SyncTimeline;

/** Where the sw_sync debugfs node lives. */
export const SW_SYNC_PATH = '/sys/kernel/debug/sync/sw_sync';

/** `SW_SYNC_HAS_DEADLINE_BIT`: the first user flag bit. */
const HAS_DEADLINE = 1 << DmaFenceFlag.USER_BITS;

/** `TASK_COMM_LEN - 1`: the timeline is named after the opener's comm. */
const COMM_LEN = 15;

/**
 * `struct sync_timeline`: a software timeline with a signed 32-bit `value`,
 * its own fence context, the active points ordered by value (the kernel's
 * rb-tree plus sorted list) and one lock shared by every point.
 *
 * @kernel struct sync_timeline (drivers/dma-buf/sync_debug.h)
 */
export class SyncTimeline {
  readonly kref: Kref;
  readonly context: number;
  /** `value` (an `int`: wraps as 32-bit). */
  value = 0;
  /** `pt_tree`: active points by u32 value. */
  readonly ptTree = new Map<number, SyncPt>();
  /** `pt_list`: active points in timeline order. */
  readonly ptList: SyncPt[] = [];
  readonly lock: SpinLock;

  constructor(
    readonly kernel: Kernel,
    readonly name: string,
  ) {
    this.kref = new Kref(kernel, `sync_timeline ${name}`);
    this.context = dmaFenceContextAlloc(kernel, 1);
    this.lock = new SpinLock(kernel, '&obj->lock', { key: 'sync_timeline.lock' });
    dmaFenceCompleted(kernel, this.context, 0, name);
  }

  get(): void {
    this.kref.get();
  }

  /** `sync_timeline_put`: the last put removes it from the debug list. */
  put(): void {
    this.kref.put(() => {
      syncTimelineDebugRemove(this);
    });
  }
}

/**
 * `struct sync_pt`: a sw_sync point, a 32-bit fence on its timeline's
 * context and lock.
 *
 * @kernel struct sync_pt
 */
export class SyncPt extends DmaFence {
  /** Earliest deadline hint, valid with the HAS_DEADLINE flag bit. */
  deadlineNs = 0;
  /** Linked in the timeline's tree and list (`!list_empty(&pt->link)`). */
  linked = false;

  constructor(
    readonly timeline: SyncTimeline,
    value: number,
  ) {
    // Init once `timeline` is set: the timeline-name op reads it.
    super(timeline.kernel, timelineFenceOps, timeline.lock, timeline.context, value, 0, false);
    this.init(timelineFenceOps, timeline.lock, timeline.context, value, 0);
  }
}

/** `(int)(a - b)` on u32 values: the rb-tree's order. */
function cmp32(a: number, b: number): number {
  return ((a >>> 0) - (b >>> 0)) | 0;
}

function unlink(obj: SyncTimeline, pt: SyncPt): void {
  if (!pt.linked) return;
  pt.linked = false;
  const i = obj.ptList.indexOf(pt);
  if (i >= 0) obj.ptList.splice(i, 1);
  if (obj.ptTree.get(pt.seqno) === pt) obj.ptTree.delete(pt.seqno);
}

/** `timeline_fence_signaled`: the point is not later than the timeline value (32-bit wrap rule). */
function ptSignaled(pt: SyncPt): boolean {
  return !seqnoIsLater(false, pt.seqno, pt.timeline.value);
}

/**
 * `timeline_fence_ops`: driver "sw_sync", timeline = the timeline's name; no
 * enable_signaling (always armed). sw_sync timelines signal in value order,
 * so they are declared in-order for the checker.
 *
 * @kernel timeline_fence_ops
 */
export const timelineFenceOps: DmaFenceOps<SyncPt> = {
  getDriverName: () => 'sw_sync',
  getTimelineName: (pt) => pt.timeline.name,
  signaled: ptSignaled,
  inOrder: true,
  release(pt) {
    const lock = pt.lock;
    const fl = fenceLock(lock);
    unlink(pt.timeline, pt);
    fenceUnlock(lock, fl);
    pt.timeline.put();
  },
  setDeadline(pt, deadlineNs) {
    const lock = pt.lock;
    const fl = fenceLock(lock);
    if ((pt.flags & HAS_DEADLINE) !== 0) {
      if (deadlineNs < pt.deadlineNs) pt.deadlineNs = deadlineNs;
    } else {
      pt.deadlineNs = deadlineNs;
      pt.flags |= HAS_DEADLINE;
    }
    fenceUnlock(lock, fl);
  },
};

/**
 * `sync_timeline_create`: named timeline with a fresh context, on the debug list.
 *
 * @kernel sync_timeline_create
 */
export function syncTimelineCreate(k: Kernel, name: string): SyncTimeline | null {
  if (!fenceAlloc(k, 128, 'sync_timeline_create')) return null;
  const obj = new SyncTimeline(k, name.slice(0, 31));
  syncTimelineDebugAdd(obj);
  return obj;
}

/**
 * `sync_timeline_signal`: advance the value by `inc` (32-bit wrap) and
 * signal, in order, every active point that is now not later than it,
 * stopping at the first still pending; references are dropped after the
 * lock is released.
 *
 * @kernel sync_timeline_signal
 */
export function syncTimelineSignal(obj: SyncTimeline, inc: number): void {
  const signalled: SyncPt[] = [];
  const lock = obj.lock;
  const fl = fenceLock(lock);
  obj.value = (obj.value + inc) | 0;
  dmaFenceCompleted(obj.kernel, obj.context, obj.value >>> 0, obj.name);
  while (obj.ptList.length > 0) {
    const pt = obj.ptList[0]!;
    if (!ptSignaled(pt)) break;
    pt.get();
    unlink(obj, pt);
    signalled.push(pt);
    pt.signalLocked();
  }
  fenceUnlock(lock, fl);
  for (const pt of signalled) pt.put();
}

/**
 * `sync_pt_create`: a point at `value`. Already signalled (not later than
 * the timeline) points are not linked. Otherwise an active point with the
 * same value is returned instead (new reference) if it can still be
 * referenced; else the new point is linked in value order. Null on OOM.
 *
 * @kernel sync_pt_create
 */
export function syncPtCreate(obj: SyncTimeline, value: number): SyncPt | null {
  if (!fenceAlloc(obj.kernel, 128, 'sync_pt_create')) return null;
  obj.get();
  let pt = new SyncPt(obj, value >>> 0);
  const lock = obj.lock;
  const fl = fenceLock(lock);
  if (!pt.isSignaledLocked()) {
    const other = obj.ptTree.get(pt.seqno);
    if (other?.getRcu()) {
      // The new point was never published: free it without a release (kfree).
      pt.refcount.put();
      obj.put();
      pt = other;
    } else {
      pt.linked = true;
      obj.ptTree.set(pt.seqno, pt);
      const list = obj.ptList;
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cmp32(list[mid]!.seqno, pt.seqno) < 0) lo = mid + 1;
        else hi = mid;
      }
      list.splice(lo, 0, pt);
    }
  }
  fenceUnlock(lock, fl);
  return pt;
}

/**
 * The sw_sync debugfs file: one timeline per open. Closing it (last
 * reference) signals every still-active point with -ENOENT.
 *
 * @kernel sw_sync_debugfs_fops (drivers/dma-buf/sw_sync.c)
 */
export class SwSyncFile implements File {
  readonly fileType = 'sw_sync';

  constructor(readonly timeline: SyncTimeline) {}

  /** `sw_sync_debugfs_release`. */
  release(): void {
    const obj = this.timeline;
    const lock = obj.lock;
    const fl = fenceLock(lock);
    for (const pt of [...obj.ptList]) {
      pt.setError(-Errno.ENOENT);
      pt.signalLocked();
    }
    fenceUnlock(lock, fl);
    obj.put();
  }

  /** `sw_sync_ioctl`: SW_SYNC_IOC_CREATE_FENCE, SW_SYNC_IOC_INC, SW_SYNC_GET_DEADLINE; else -ENOTTY. */
  ioctl(ctx: FileContext, request: string, arg: unknown): number {
    switch (request) {
      case 'SW_SYNC_IOC_CREATE_FENCE':
        return swSyncIoctlCreateFence(ctx, this.timeline, arg);
      case 'SW_SYNC_IOC_INC':
        return swSyncIoctlInc(this.timeline, arg);
      case 'SW_SYNC_GET_DEADLINE':
        return swSyncIoctlGetDeadline(ctx, arg);
      default:
        return -Errno.ENOTTY;
    }
  }
}

/** SW_SYNC_IOC_CREATE_FENCE `{ value, name (ignored), fence (out) }`. */
function swSyncIoctlCreateFence(ctx: FileContext, obj: SyncTimeline, arg: unknown): number {
  const proc = ctx.proc;
  const fd = proc.getUnusedFd();
  if (fd < 0) return fd;
  if (!isUserStruct(arg)) return -Errno.EFAULT;
  const value = readU32(arg, 'value');
  if (value === null || (arg.name !== undefined && typeof arg.name !== 'string'))
    return -Errno.EFAULT;
  const pt = syncPtCreate(obj, value);
  if (!pt) return -Errno.ENOMEM;
  const sf = syncFileCreate(ctx.kernel, pt);
  pt.put();
  if (!sf) return -Errno.ENOMEM;
  arg.fence = fd;
  proc.fdInstall(fd, new OpenFile(sf));
  return 0;
}

/** SW_SYNC_IOC_INC `u32`: increments in chunks of at most INT_MAX. */
function swSyncIoctlInc(obj: SyncTimeline, arg: unknown): number {
  const v = typeof arg === 'number' ? arg : isUserStruct(arg) ? arg.value : undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff)
    return -Errno.EFAULT;
  let value = v >>> 0;
  while (value > INT_MAX) {
    syncTimelineSignal(obj, INT_MAX);
    value -= INT_MAX;
  }
  syncTimelineSignal(obj, value);
  return 0;
}

/**
 * SW_SYNC_GET_DEADLINE `{ deadlineNs (must be 0), pad (0), fenceFd }`:
 * -EINVAL for non-zero inputs, an fd that is not a sync_file or a fence that
 * is not a sw_sync point; -ENOENT without a deadline; else the earliest one.
 */
function swSyncIoctlGetDeadline(ctx: FileContext, arg: unknown): number {
  if (!isUserStruct(arg)) return -Errno.EFAULT;
  const deadline = readU64(arg, 'deadlineNs');
  const pad = readU32(arg, 'pad');
  const fenceFd = readS32(arg, 'fenceFd');
  if (deadline === null || pad === null || fenceFd === null) return -Errno.EFAULT;
  if (deadline || pad) return -Errno.EINVAL;
  const fence = syncFileGetFence(ctx.proc, fenceFd);
  if (!fence) return -Errno.EINVAL;
  if (!(fence instanceof SyncPt)) {
    fence.put();
    return -Errno.EINVAL;
  }
  const lock = fence.lock;
  const fl = fenceLock(lock);
  const has = (fence.flags & HAS_DEADLINE) !== 0;
  const ns = fence.deadlineNs;
  fenceUnlock(lock, fl);
  fence.put();
  if (!has) return -Errno.ENOENT;
  arg.deadlineNs = ns;
  return 0;
}

/** `sw_sync_debugfs_open`: a new timeline named after the opening task's comm. */
function swSyncOpen(ctx: FileContext): File | number {
  const obj = syncTimelineCreate(ctx.kernel, ctx.thread.name.slice(0, COMM_LEN));
  if (!obj) return -Errno.ENOMEM;
  return new SwSyncFile(obj);
}

registerDevice(SW_SYNC_PATH, swSyncOpen);
registerDevice(SYNC_INFO_PATH, () => syncInfoFile);
