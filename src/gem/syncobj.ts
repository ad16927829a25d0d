/**
 * drm_syncobj: the DRM synchronisation object behind Vulkan fences and
 * (timeline) semaphores. A syncobj is a refcounted pointer to a fence that
 * may be NULL; as a binary object its fence is replaced, as a timeline it
 * grows a `dma_fence_chain` (one node per point). This file holds the
 * object, its per-file handle table, syncobj and sync_file fds, and
 * `find_fence` (with WAIT_FOR_SUBMIT); host waits and eventfds are in
 * `syncobj-wait.ts`, the ioctls in `syncobj-ioctl.ts`.
 *
 * @kernel drivers/gpu/drm/drm_syncobj.c, include/drm/drm_syncobj.h
 */
import { lockdepAssertNoneHeldOnce } from '../check/index.ts';
import {
  dmaFenceAllocatePrivateStub,
  DmaFenceCb,
  dmaFenceChainAlloc,
  dmaFenceChainFindSeqno,
  dmaFenceChainForEach,
  dmaFenceChainInit,
  dmaFenceGetStub,
  dmaFencePublish,
  dmaFenceUnwrapMerge,
  eventfdSignal,
  OpenFile,
  syncFileCreate,
  syncFileGetFence,
} from '../fence/index.ts';
import type { DmaFence, DmaFenceChain, EventFd, File, FencePtr, UserProcess } from '../fence/index.ts';
import { Errno, GFP_KERNEL, Kref, kzalloc, SpinLock, U32_MAX, U64_MAX, wholeArg, WOULD_SLEEP } from '../kernel/index.ts';
import type { Kernel, Thread } from '../kernel/index.ts';
import type { DrmFile } from './drm-file.ts';

/** `DRM_SYNCOBJ_CREATE_SIGNALED`. */
export const DRM_SYNCOBJ_CREATE_SIGNALED = 1 << 0;
/** `DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE`. */
export const DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE = 1 << 0;
/** `DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE`. */
export const DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE = 1 << 1;
/** `DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE`. */
export const DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE = 1 << 0;
/** `DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE`. */
export const DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE = 1 << 1;
/** `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL`. */
export const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL = 1 << 0;
/** `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT`: wait for a fence to appear, then for it. */
export const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT = 1 << 1;
/** `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE`: wait only for the point to appear. */
export const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE = 1 << 2;
/** `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE`: set `deadlineNsec` on the fences first. */
export const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE = 1 << 3;
/** `DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED`. */
export const DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED = 1 << 0;
/** `DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT`: how long `find_fence` waits for a submission (5 s). */
export const DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT_NS = 5_000_000_000;

/** `fence_cb` of an eventfd registration. */
class SyncobjEventfdCb extends DmaFenceCb {
  constructor(readonly entry: SyncobjEventfdEntry) {
    super();
  }
}

/** `fence_cb` of a `syncobj_wait_entry`. @kernel syncobj_wait_entry.fence_cb */
export class SyncobjWaitCb extends DmaFenceCb {
  constructor(readonly entry: SyncobjWaitEntry) {
    super();
  }
}

/**
 * `struct syncobj_wait_entry`: one task waiting on one syncobj (point). On
 * the syncobj's `cb_list` while it waits for a fence to be submitted.
 *
 * @kernel struct syncobj_wait_entry
 */
export interface SyncobjWaitEntry {
  readonly task: Thread;
  /** The fence found for the point (a reference), or null while none was submitted. */
  fence: DmaFence | null;
  readonly point: number;
  /** The callback on `fence`, once armed (`fence_cb.func` set). */
  cb: SyncobjWaitCb | null;
  /** On `cb_list` (`wait->node.next` non-NULL). */
  linked: boolean;
}

/**
 * One `DRM_IOCTL_SYNCOBJ_EVENTFD` registration: signal `evFd` when `point`
 * is available or signalled. On the syncobj's `ev_fd_list` until its point
 * has a fence.
 *
 * @kernel struct syncobj_eventfd_entry
 */
export class SyncobjEventfdEntry {
  fence: DmaFence | null = null;
  linked = true;
  readonly cb: DmaFenceCb;

  constructor(
    readonly syncobj: DrmSyncobj,
    readonly evFd: EventFd,
    /** The file reference that keeps the eventfd alive (`eventfd_ctx_get`). */
    readonly evFdFile: OpenFile,
    readonly point: number,
    readonly flags: number,
  ) {
    this.cb = new SyncobjEventfdCb(this);
  }
}

let syncobjIds = new WeakMap<Kernel, number>();

/**
 * `struct drm_syncobj`: a refcount, the current fence (NULL or a fence, a
 * chain node for a timeline), the tasks waiting for a submission
 * (`cb_list`), the eventfd registrations, and `lock` (a plain spinlock:
 * syncobjs are never touched from IRQ context).
 *
 * @kernel struct drm_syncobj
 */
export class DrmSyncobj {
  readonly refcount: Kref;
  /** `fence` (RCU pointer); the syncobj holds one reference. */
  fence: DmaFence | null = null;
  readonly cbList: SyncobjWaitEntry[] = [];
  readonly evFdList: SyncobjEventfdEntry[] = [];
  readonly lock: SpinLock;
  readonly id: number;

  /** @internal use `drmSyncobjCreate`. */
  constructor(readonly kernel: Kernel) {
    this.id = (syncobjIds.get(kernel) ?? 0) + 1;
    syncobjIds.set(kernel, this.id);
    this.refcount = new Kref(kernel, `drm_syncobj ${this.id}`);
    this.lock = new SpinLock(kernel, '&syncobj->lock', { key: 'drm_syncobj.lock' });
  }

  /** `drm_syncobj_get`. */
  get(): this {
    this.refcount.get();
    return this;
  }

  /** `drm_syncobj_put`: the last reference frees it (`drm_syncobj_free`). */
  put(): void {
    this.refcount.put(() => {
      drmSyncobjFree(this);
    });
  }

  toString(): string {
    return `syncobj ${this.id}`;
  }
}

/** @internal start syncobj numbering over (tests that compare runs in one process). @kernel none: model bookkeeping */
export function resetSyncobjIds(): void {
  syncobjIds = new WeakMap();
}

/**
 * A GFP_KERNEL allocation of the syncobj code: false when the chooser
 * injects a failure. During scenario setup (no thread yet) nothing is
 * checked or injected, as for the fence layer's allocations.
 */
function syncobjAlloc(k: Kernel, size: number, site: string): boolean {
  if (k.currentOrNull === null) return true;
  return kzalloc(k, size, GFP_KERNEL, site) !== null;
}

/**
 * Take `lock` when called from a simulated thread. During scenario setup
 * (no thread yet) nobody else can run, so the syncobj code works on its
 * objects without the spinlock, as the fence stub does: drivers and
 * scenarios may create and fill syncobjs in `setup`.
 */
function lockIfRunning(lock: SpinLock): boolean {
  if (lock.kernel.currentOrNull === null) return false;
  lock.lock();
  return true;
}

function unlockIf(lock: SpinLock, took: boolean): void {
  if (took) lock.unlock();
}

// ------------------------------------------------------------------ fences

/**
 * `drm_syncobj_fence_get`: a new reference to the current fence, or null.
 *
 * @kernel drm_syncobj_fence_get
 */
export function drmSyncobjFenceGet(syncobj: DrmSyncobj): DmaFence | null {
  // rcu_dereference: pairs with the rcu_assign_pointer of replace_fence / add_point.
  syncobj.kernel.hb?.acquire(syncobj.kernel.currentOrNull, syncobj);
  return syncobj.fence?.get() ?? null;
}

/** `rcu_assign_pointer(syncobj->fence, ...)`: publish to lockless readers (the race detector's release). */
function publishFence(syncobj: DrmSyncobj): void {
  syncobj.kernel.hb?.release(syncobj.kernel.currentOrNull, syncobj);
}

/**
 * `syncobj_wait_syncobj_func` (syncobj lock held): the fence changed; if the
 * waited point now has a fence (a stub if it already completed), hand it to
 * the waiter, wake it and take it off `cb_list`.
 *
 * @kernel syncobj_wait_syncobj_func
 */
export function syncobjWaitSyncobjFunc(syncobj: DrmSyncobj, wait: SyncobjWaitEntry): void {
  const p: FencePtr = { fence: syncobj.fence?.get() ?? null };
  if (!p.fence || dmaFenceChainFindSeqno(p, wait.point)) {
    p.fence?.put();
    return;
  }
  wait.fence = p.fence ?? dmaFenceGetStub(syncobj.kernel);
  syncobj.kernel.wake(wait.task);
  unlinkWait(syncobj, wait);
}

function unlinkWait(syncobj: DrmSyncobj, wait: SyncobjWaitEntry): void {
  if (!wait.linked) return;
  wait.linked = false;
  const i = syncobj.cbList.indexOf(wait);
  if (i >= 0) syncobj.cbList.splice(i, 1);
}

/**
 * `drm_syncobj_fence_add_wait`: unless the entry already has a fence, look
 * once more under the lock; with no fence for the point yet, queue the
 * entry on `cb_list` (a later replace or add_point hands one over).
 *
 * @kernel drm_syncobj_fence_add_wait
 */
export function drmSyncobjFenceAddWait(syncobj: DrmSyncobj, wait: SyncobjWaitEntry): void {
  if (wait.fence) return;
  const took = lockIfRunning(syncobj.lock);
  const p: FencePtr = { fence: syncobj.fence?.get() ?? null };
  if (!p.fence || dmaFenceChainFindSeqno(p, wait.point)) {
    p.fence?.put();
    wait.linked = true;
    syncobj.cbList.push(wait);
  } else {
    wait.fence = p.fence ?? dmaFenceGetStub(syncobj.kernel);
  }
  unlockIf(syncobj.lock, took);
}

/** `drm_syncobj_remove_wait`: take the entry off `cb_list` if it is still there. @kernel drm_syncobj_remove_wait */
export function drmSyncobjRemoveWait(syncobj: DrmSyncobj, wait: SyncobjWaitEntry): void {
  if (!wait.linked) return;
  const took = lockIfRunning(syncobj.lock);
  unlinkWait(syncobj, wait);
  unlockIf(syncobj.lock, took);
}

/** `syncobj_eventfd_entry_free`: drop the eventfd and the fence, unlink, free. */
function syncobjEventfdEntryFree(entry: SyncobjEventfdEntry): void {
  entry.evFdFile.put();
  entry.fence?.put();
  if (entry.linked) {
    entry.linked = false;
    const list = entry.syncobj.evFdList;
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
  }
}

/** `syncobj_eventfd_entry_fence_func`: the point's fence signalled. */
function syncobjEventfdEntryFenceFunc(_f: DmaFence, cb: DmaFenceCb): void {
  if (!(cb instanceof SyncobjEventfdCb)) return;
  eventfdSignal(cb.entry.evFd);
  syncobjEventfdEntryFree(cb.entry);
}

/**
 * `syncobj_eventfd_entry_func` (syncobj lock held): once the point has a
 * fence, signal the eventfd at once (WAIT_AVAILABLE, or the fence already
 * signalled) or when the fence signals.
 */
function syncobjEventfdEntryFunc(syncobj: DrmSyncobj, entry: SyncobjEventfdEntry): void {
  const p: FencePtr = { fence: syncobj.fence?.get() ?? null };
  if (!p.fence) return;
  const orig = p.fence;
  if (dmaFenceChainFindSeqno(p, entry.point) !== 0) {
    // The point has not been submitted yet.
    orig.put();
    return;
  }
  // Found but collected: the point signalled and a later one exists.
  const fence = p.fence ?? dmaFenceGetStub(syncobj.kernel);
  entry.linked = false;
  syncobj.evFdList.splice(syncobj.evFdList.indexOf(entry), 1);
  entry.fence = fence;
  if (entry.flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE) {
    eventfdSignal(entry.evFd);
    syncobjEventfdEntryFree(entry);
  } else if (fence.addCallback(entry.cb, syncobjEventfdEntryFenceFunc) === -Errno.ENOENT) {
    eventfdSignal(entry.evFd);
    syncobjEventfdEntryFree(entry);
  }
}

/**
 * `drm_syncobj_add_eventfd`: register `evFd` to be signalled when `point`
 * (0: the current fence) is available (WAIT_AVAILABLE) or signalled. Takes
 * over the caller's reference to the eventfd file.
 *
 * @kernel drm_syncobj_add_eventfd
 */
export function drmSyncobjAddEventfd(syncobj: DrmSyncobj, evFd: EventFd, evFdFile: OpenFile, point: number, flags: number): void {
  wholeArg('drmSyncobjAddEventfd(syncobj, evFd, evFdFile, point, flags)', 'point', point, '(u64)', U64_MAX);
  const entry = new SyncobjEventfdEntry(syncobj, evFd, evFdFile, point, flags);
  const took = lockIfRunning(syncobj.lock);
  syncobj.evFdList.push(entry);
  syncobjEventfdEntryFunc(syncobj, entry);
  unlockIf(syncobj.lock, took);
}

function runWaiters(syncobj: DrmSyncobj): void {
  for (const w of [...syncobj.cbList]) syncobjWaitSyncobjFunc(syncobj, w);
  for (const e of [...syncobj.evFdList]) syncobjEventfdEntryFunc(syncobj, e);
}

/**
 * `drm_syncobj_add_point`: make `chain` (from `dmaFenceChainAlloc`) the new
 * timeline point `point` over `fence`, linked to the previous fence. A point
 * not above the last one is accepted (the kernel only logs "You are adding
 * an unorder point to timeline!"; QUERY may then report 0). Waiters whose
 * point appeared are woken; the chain is walked once so signalled points
 * can be freed. Takes its own reference to `fence`. Process or atomic
 * context (no sleeping).
 *
 * @kernel drm_syncobj_add_point
 */
export function drmSyncobjAddPoint(syncobj: DrmSyncobj, chain: DmaFenceChain, fence: DmaFence, point: number): void {
  wholeArg('drmSyncobjAddPoint(syncobj, chain, fence, point)', 'point', point, '(u64)', U64_MAX);
  fence.get();
  dmaFencePublish(fence);
  const took = lockIfRunning(syncobj.lock);
  const prev = drmSyncobjFenceGet(syncobj);
  // The chain takes over the syncobj's reference to prev; the one just taken is for the walk below.
  dmaFenceChainInit(chain, prev, fence, point);
  syncobj.fence = chain;
  publishFence(syncobj);
  runWaiters(syncobj);
  unlockIf(syncobj.lock, took);
  if (prev) {
    for (const _ of dmaFenceChainForEach(prev)) {
      // Walk the chain once to trigger garbage collection.
    }
    prev.put();
  }
}

/**
 * `drm_syncobj_replace_fence`: the syncobj now holds (a new reference to)
 * `fence`, or nothing; waiters are woken when it changed. The old fence's
 * reference is dropped after the lock is released.
 *
 * @kernel drm_syncobj_replace_fence
 */
export function drmSyncobjReplaceFence(syncobj: DrmSyncobj, fence: DmaFence | null): void {
  if (fence) {
    fence.get();
    dmaFencePublish(fence);
  }
  const took = lockIfRunning(syncobj.lock);
  const old = syncobj.fence;
  syncobj.fence = fence;
  publishFence(syncobj);
  if (fence !== old) runWaiters(syncobj);
  unlockIf(syncobj.lock, took);
  old?.put();
}

/**
 * `drm_syncobj_assign_null_handle`: install a new, already signalled
 * private stub fence (`DRM_IOCTL_SYNCOBJ_SIGNAL`, `CREATE_SIGNALED`).
 * `-ENOMEM` if it cannot be allocated.
 *
 * @kernel drm_syncobj_assign_null_handle
 */
export function drmSyncobjAssignNullHandle(syncobj: DrmSyncobj): number {
  const k = syncobj.kernel;
  const fence = dmaFenceAllocatePrivateStub(k, k.nowNs);
  if (!fence) return -Errno.ENOMEM;
  drmSyncobjReplaceFence(syncobj, fence);
  fence.put();
  return 0;
}

/** `drm_syncobj_free`: drop the fence and every eventfd registration, then `kfree`. */
function drmSyncobjFree(syncobj: DrmSyncobj): void {
  drmSyncobjReplaceFence(syncobj, null);
  for (const e of [...syncobj.evFdList]) syncobjEventfdEntryFree(e);
  const k = syncobj.kernel;
  k.hb?.free(k.currentOrNull, syncobj, 'drm_syncobj_free');
}

/**
 * `drm_syncobj_create`: a new syncobj (one reference for the caller),
 * signalled with a stub if `DRM_SYNCOBJ_CREATE_SIGNALED`, holding `fence` if
 * given. `-ENOMEM` on allocation failure. Process context.
 *
 * @kernel drm_syncobj_create
 */
export function drmSyncobjCreate(k: Kernel, flags: number, fence: DmaFence | null = null): DrmSyncobj | number {
  if (!syncobjAlloc(k, 160, 'drm_syncobj_create')) return -Errno.ENOMEM;
  const syncobj = new DrmSyncobj(k);
  k.hb?.alloc(syncobj, { what: 'struct drm_syncobj', size: 160, fn: 'drm_syncobj_create', locks: [syncobj.lock] });
  if (flags & DRM_SYNCOBJ_CREATE_SIGNALED) {
    const ret = drmSyncobjAssignNullHandle(syncobj);
    if (ret < 0) {
      syncobj.put();
      return ret;
    }
  }
  if (fence) drmSyncobjReplaceFence(syncobj, fence);
  return syncobj;
}

// ------------------------------------------------------------------ handles

/** The syncobj half of `struct drm_file`: `syncobj_idr` (handles from 1) and `syncobj_table_lock`. */
export interface SyncobjTable {
  readonly idr: Map<number, DrmSyncobj>;
  readonly lock: SpinLock;
}

const tables = new WeakMap<DrmFile, SyncobjTable>();

/**
 * `drm_syncobj_open`: the syncobj handle table of `file` (created on first
 * use, as the kernel does at open time).
 *
 * @kernel drm_syncobj_open
 */
export function drmSyncobjOpen(file: DrmFile): SyncobjTable {
  let t = tables.get(file);
  if (!t) {
    t = {
      idr: new Map(),
      lock: new SpinLock(file.dev.kernel, '&file_private->syncobj_table_lock', { key: 'drm_file.syncobj_table_lock' }),
    };
    tables.set(file, t);
  }
  return t;
}

/**
 * `drm_syncobj_release`: the file is closing; drop every handle's reference.
 *
 * @kernel drm_syncobj_release
 */
export function drmSyncobjRelease(file: DrmFile): void {
  const t = tables.get(file);
  if (!t) return;
  const all = [...t.idr.values()];
  t.idr.clear();
  for (const s of all) s.put();
}

/**
 * `drm_syncobj_find`: a new reference to the syncobj behind `handle`, or null.
 *
 * @kernel drm_syncobj_find
 */
export function drmSyncobjFind(file: DrmFile, handle: number): DrmSyncobj | null {
  const t = drmSyncobjOpen(file);
  const took = lockIfRunning(t.lock);
  const s = t.idr.get(handle) ?? null;
  s?.get();
  unlockIf(t.lock, took);
  return s;
}

/** `idr_preload(GFP_KERNEL)` + `idr_alloc(idr, syncobj, 1, 0, GFP_NOWAIT)`: the lowest free handle, or -ENOMEM. */
function idrAlloc(file: DrmFile, syncobj: DrmSyncobj): number {
  const k = file.dev.kernel;
  if (!syncobjAlloc(k, 64, 'idr_preload')) return -Errno.ENOMEM;
  const t = drmSyncobjOpen(file);
  const took = lockIfRunning(t.lock);
  let h = 1;
  while (t.idr.has(h)) h++;
  t.idr.set(h, syncobj);
  unlockIf(t.lock, took);
  return h;
}

/**
 * `drm_syncobj_get_handle`: a new handle in `file` (holding its own
 * reference), or a negative errno.
 *
 * @kernel drm_syncobj_get_handle
 */
export function drmSyncobjGetHandle(file: DrmFile, syncobj: DrmSyncobj): number {
  syncobj.get();
  const h = idrAlloc(file, syncobj);
  if (h < 0) syncobj.put();
  return h;
}

/**
 * `drm_syncobj_destroy`: remove `handle`; `-EINVAL` if it is unknown.
 *
 * @kernel drm_syncobj_destroy
 */
export function drmSyncobjDestroy(file: DrmFile, handle: number): number {
  const t = drmSyncobjOpen(file);
  const took = lockIfRunning(t.lock);
  const s = t.idr.get(handle);
  t.idr.delete(handle);
  unlockIf(t.lock, took);
  if (!s) return -Errno.EINVAL;
  s.put();
  return 0;
}

// ---------------------------------------------------------------------- fds

/**
 * The anonymous "syncobj_file": an fd sharing a syncobj between processes.
 * Opaque: no ioctls, no poll.
 *
 * @kernel drm_syncobj_file_fops
 */
export class DrmSyncobjFile implements File {
  readonly fileType = 'syncobj_file';

  constructor(readonly syncobj: DrmSyncobj) {}

  /** `drm_syncobj_file_release`. */
  release(): void {
    this.syncobj.put();
  }
}

/**
 * `drm_syncobj_get_fd`: a new syncobj fd in `proc` (with its own reference),
 * or a negative errno.
 *
 * @kernel drm_syncobj_get_fd
 */
export function drmSyncobjGetFd(proc: UserProcess, syncobj: DrmSyncobj): number {
  const fd = proc.getUnusedFd();
  if (fd < 0) return fd;
  if (!syncobjAlloc(proc.kernel, 256, 'anon_inode_getfile')) return -Errno.ENOMEM;
  syncobj.get();
  proc.fdInstall(fd, new OpenFile(new DrmSyncobjFile(syncobj)));
  return fd;
}

/** `drm_syncobj_handle_to_fd`: `-EINVAL` for an unknown handle. @kernel drm_syncobj_handle_to_fd */
export function drmSyncobjHandleToFd(file: DrmFile, proc: UserProcess, handle: number): number {
  const syncobj = drmSyncobjFind(file, handle);
  if (!syncobj) return -Errno.EINVAL;
  const fd = drmSyncobjGetFd(proc, syncobj);
  syncobj.put();
  return fd;
}

/**
 * `drm_syncobj_fd_to_handle`: a new handle for the syncobj behind a syncobj
 * fd (no de-duplication: every import is a new handle); `-EINVAL` for a bad
 * fd or any other kind of file.
 *
 * @kernel drm_syncobj_fd_to_handle
 */
export function drmSyncobjFdToHandle(file: DrmFile, proc: UserProcess, fd: number): number {
  const of = fd >= 0 ? proc.fget(fd) : null;
  if (!of) return -Errno.EINVAL;
  try {
    if (!(of.file instanceof DrmSyncobjFile)) return -Errno.EINVAL;
    return drmSyncobjGetHandle(file, of.file.syncobj);
  } finally {
    of.put();
  }
}

/**
 * `drm_syncobj_import_sync_file_fence`: the sync_file's fence becomes the
 * syncobj's fence (`point` 0) or its timeline point `point`. `-EINVAL` for
 * an fd that is not a sync_file, `-ENOENT` for an unknown handle.
 *
 * Deliberate difference: the kernel leaks the fence and syncobj references
 * when the chain node cannot be allocated; the model drops them.
 *
 * @kernel drm_syncobj_import_sync_file_fence
 */
export function drmSyncobjImportSyncFileFence(file: DrmFile, proc: UserProcess, fd: number, handle: number, point: number): number {
  syncobjArgs('drmSyncobjImportSyncFileFence(file, proc, fd, handle, point)', handle, point);
  const fence = syncFileGetFence(proc, fd);
  if (!fence) return -Errno.EINVAL;
  const syncobj = drmSyncobjFind(file, handle);
  if (!syncobj) {
    fence.put();
    return -Errno.ENOENT;
  }
  let ret = 0;
  if (point) {
    const chain = dmaFenceChainAlloc(proc.kernel);
    if (chain) drmSyncobjAddPoint(syncobj, chain, fence, point);
    else ret = -Errno.ENOMEM;
  } else {
    drmSyncobjReplaceFence(syncobj, fence);
  }
  fence.put();
  syncobj.put();
  return ret;
}

/**
 * `drm_syncobj_export_sync_file`: a sync_file fd on the fence of `point`
 * (0: the current fence), found without waiting; `-EINVAL` when there is
 * none yet.
 *
 * @kernel drm_syncobj_export_sync_file
 */
export async function drmSyncobjExportSyncFile(file: DrmFile, proc: UserProcess, handle: number, point: number): Promise<number> {
  syncobjArgs('drmSyncobjExportSyncFile(file, proc, handle, point)', handle, point);
  const fd = proc.getUnusedFd();
  if (fd < 0) return fd;
  const p: FencePtr = { fence: null };
  const ret = await drmSyncobjFindFence(file, handle, point, 0, p);
  if (ret) return ret;
  const sf = syncFileCreate(proc.kernel, p.fence!);
  p.fence!.put();
  if (!sf) return -Errno.EINVAL;
  proc.fdInstall(fd, new OpenFile(sf));
  return fd;
}

// --------------------------------------------------------------- find_fence

/** What a task waiting for a submission blocks on: no known owner (userspace submits). */
function submitBlocker(syncobj: DrmSyncobj, point: number): { describe(): string; owners(): readonly Thread[] } {
  return {
    describe: () => `${syncobj.toString()}${point ? ` point ${point}` : ''} (waiting for a submission)`,
    owners: () => [],
  };
}

/**
 * `drm_syncobj_find_fence(file, handle, point, flags, &fence)`: the fence
 * of `point` (the current fence for 0) with a new reference in `out.fence`;
 * a stub when the point already completed and was collected. `-ENOENT` for
 * an unknown handle, `-EINVAL` for other flags or when there is no fence for
 * the point yet. With `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT` it waits
 * (interruptibly, up to 5 s) for the point to be submitted: `-ETIME` when
 * it does not come, `-ERESTARTSYS` on a signal. Waiting for userspace must
 * not happen with locks held (it can deadlock against the submitter or a
 * page fault): `might_sleep()` and `lockdep_assert_none_held_once()` check
 * it first. Process context (from a synchronous callback it only looks: a
 * point not submitted yet is `-ETIME` at once, see `Kernel.sleeping`).
 *
 * Deliberate difference: the kernel checks the flags after looking up the
 * syncobj and leaks that reference on `-EINVAL`; the model checks first.
 *
 * @kernel drm_syncobj_find_fence
 */
export function drmSyncobjFindFence(file: DrmFile, handle: number, point: number, flags: number, out: FencePtr): Promise<number> {
  syncobjArgs('drmSyncobjFindFence(file, handle, point, flags, out)', handle, point);
  const k = file.dev.kernel;
  if (flags & ~DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT) return Promise.resolve(-Errno.EINVAL);
  if (!(flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT)) return Promise.resolve(findFenceNow(file, handle, point, out));
  const op = 'drm_syncobj_find_fence';
  // Called from a synchronous callback, the lookup alone runs; a point not submitted yet times out at once.
  return k.sleeping(
    op,
    () => {
      lockdepAssertNoneHeldOnce(k);
      const r = findFenceNow(file, handle, point, out);
      return r === -Errno.EINVAL ? WOULD_SLEEP : r;
    },
    () => findFenceWaitForSubmit(file, handle, point, out),
    () => -Errno.ETIME,
  );
}

/** The lookup of `drm_syncobj_find_fence` without waiting: 0, -ENOENT, or -EINVAL (no fence for the point yet). */
function findFenceNow(file: DrmFile, handle: number, point: number, out: FencePtr): number {
  const syncobj = drmSyncobjFind(file, handle);
  if (!syncobj) return -Errno.ENOENT;
  try {
    return lookupPoint(syncobj, point, out);
  } finally {
    syncobj.put();
  }
}

/** `drm_syncobj_fence_get` + `dma_fence_chain_find_seqno`: 0 with `out.fence` set (a stub for a collected point), or -EINVAL. */
function lookupPoint(syncobj: DrmSyncobj, point: number, out: FencePtr): number {
  out.fence = drmSyncobjFenceGet(syncobj);
  if (!out.fence) return -Errno.EINVAL;
  const orig = out.fence;
  const ret = dmaFenceChainFindSeqno(out, point);
  if (!ret) {
    out.fence ??= dmaFenceGetStub(syncobj.kernel);
    return 0;
  }
  orig.put();
  out.fence = null;
  return ret;
}

/** The WAIT_FOR_SUBMIT path of `drm_syncobj_find_fence` in a context that may sleep. */
async function findFenceWaitForSubmit(file: DrmFile, handle: number, point: number, out: FencePtr): Promise<number> {
  const k = file.dev.kernel;
  const syncobj = drmSyncobjFind(file, handle);
  if (!syncobj) return -Errno.ENOENT;
  k.mightSleep('drm_syncobj_find_fence');
  lockdepAssertNoneHeldOnce(k);
  try {
    let ret = lookupPoint(syncobj, point, out);
    if (ret === 0) return 0;
    const t = k.current;
    const wait: SyncobjWaitEntry = { task: t, fence: null, point, cb: null, linked: false };
    drmSyncobjFenceAddWait(syncobj, wait);
    let timeout = Math.floor((DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT_NS * k.hz) / 1e9);
    const blocker = submitBlocker(syncobj, point);
    for (;;) {
      if (wait.fence) {
        ret = 0;
        break;
      }
      if (timeout === 0) {
        ret = -Errno.ETIME;
        break;
      }
      if (t.signalPending) {
        ret = -Errno.ERESTARTSYS;
        break;
      }
      timeout = await scheduleTimeoutOn(k, t, blocker, 'drm_syncobj_find_fence', timeout);
    }
    out.fence = wait.fence;
    // The waiter sees what was published with the fence it was handed.
    if (wait.fence) k.hb?.acquire(t, syncobj);
    drmSyncobjRemoveWait(syncobj, wait);
    return ret;
  } finally {
    syncobj.put();
  }
}

/**
 * `schedule_timeout(timeout)` in TASK_INTERRUPTIBLE, blocked on `blocker`:
 * the jiffies left (0 once the time is up; `Infinity` stays).
 *
 * @internal
 * @kernel schedule_timeout
 */
export async function scheduleTimeoutOn(
  k: Kernel,
  t: Thread,
  blocker: { describe(): string; owners(): readonly Thread[] },
  op: string,
  timeout: number,
): Promise<number> {
  if (timeout === Number.POSITIVE_INFINITY) {
    await k.block(t, blocker, op, { interruptible: true });
    return timeout;
  }
  const deadlineJ = k.jiffies + timeout;
  await k.block(t, blocker, op, { interruptible: true, timeoutNs: k.jiffiesToNs(deadlineJ) - k.nowNs });
  return Math.max(0, deadlineJ - k.jiffies);
}

// ----------------------------------------------------------------- transfer

/**
 * `DRM_IOCTL_SYNCOBJ_TRANSFER` to a timeline point (`dstPoint` != 0): the
 * source point's fence, unwrapped and merged into one fence, becomes point
 * `dstPoint` of the destination.
 *
 * @kernel drm_syncobj_transfer_to_timeline
 */
export async function drmSyncobjTransferToTimeline(
  file: DrmFile,
  a: { srcHandle: number; dstHandle: number; srcPoint: number; dstPoint: number; flags: number },
): Promise<number> {
  const k = file.dev.kernel;
  const timeline = drmSyncobjFind(file, a.dstHandle);
  if (!timeline) return -Errno.ENOENT;
  try {
    const p: FencePtr = { fence: null };
    const ret = await drmSyncobjFindFence(file, a.srcHandle, a.srcPoint, a.flags, p);
    if (ret) return ret;
    const fence = dmaFenceUnwrapMerge(k, p.fence!);
    p.fence!.put();
    if (!fence) return -Errno.ENOMEM;
    const chain = dmaFenceChainAlloc(k);
    if (chain) drmSyncobjAddPoint(timeline, chain, fence, a.dstPoint);
    fence.put();
    return chain ? 0 : -Errno.ENOMEM;
  } finally {
    timeline.put();
  }
}

/**
 * `DRM_IOCTL_SYNCOBJ_TRANSFER` to a binary syncobj (`dstPoint` 0): the
 * source point's fence replaces the destination's fence.
 *
 * @kernel drm_syncobj_transfer_to_binary
 */
export async function drmSyncobjTransferToBinary(
  file: DrmFile,
  a: { srcHandle: number; dstHandle: number; srcPoint: number; flags: number },
): Promise<number> {
  const binary = drmSyncobjFind(file, a.dstHandle);
  if (!binary) return -Errno.ENOENT;
  try {
    const p: FencePtr = { fence: null };
    const ret = await drmSyncobjFindFence(file, a.srcHandle, a.srcPoint, a.flags, p);
    if (ret) return ret;
    drmSyncobjReplaceFence(binary, p.fence);
    p.fence!.put();
    return 0;
  } finally {
    binary.put();
  }
}

/**
 * The handle (u32) and point (u64) a driver passes to the syncobj helpers,
 * checked as numbers (an unknown handle is the kernel's -ENOENT, not this).
 *
 * @kernel none: the model's argument check (u32 handle, u64 point)
 */
export function syncobjArgs(fn: string, handle: number, point: number): void {
  wholeArg(fn, 'handle', handle, '(u32)', U32_MAX);
  wholeArg(fn, 'point', point, '(u64)', U64_MAX);
}
