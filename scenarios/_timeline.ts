/**
 * A software timeline in the style of sw_sync (`drivers/dma-buf/sw_sync.c`):
 * points are fences on the timeline's lock, kept on an `active` list until
 * the timeline's value passes them. `timelineSignal` is the signal loop
 * (`sync_timeline_signal`): under the lock it signals and unlinks every
 * passed point. What a point's release does with the list is the scenario's
 * business (`release`), because that is where the race lives.
 */
import { DmaFence, dmaFenceContextAlloc } from '../src/fence/index.ts';
import type { DmaFenceOps } from '../src/fence/index.ts';
import { KListHead, kstruct, SpinLock } from '../src/kernel/index.ts';
import type { Kernel, KStruct } from '../src/kernel/index.ts';

/** `struct sync_timeline`. */
export type Timeline = KStruct<{ value: number; lock: SpinLock; active: KListHead<SyncPt> }> & { readonly context: number };

/** `struct sync_pt`: a fence plus its link on the timeline's list (`linked`: `!list_empty(&pt->link)`). */
export class SyncPt extends DmaFence {
  readonly link: KStruct<{ linked: boolean }>;
  constructor(
    k: Kernel,
    readonly tl: Timeline,
    ops: DmaFenceOps<SyncPt>,
    seqno: number,
  ) {
    super(k, ops, tl.lock, tl.context, seqno);
    this.link = kstruct(k, 'struct sync_pt', { linked: false }, { name: `pt${seqno}` });
  }
}

/** `sync_timeline_create`. */
export function timelineCreate(k: Kernel): Timeline {
  const tl = kstruct(k, 'struct sync_timeline', { value: 0, lock: new SpinLock(k, 'tl->lock'), active: new KListHead<SyncPt>() }, { name: 'tl' });
  return Object.assign(tl, { context: dmaFenceContextAlloc(k, 1) });
}

/** `sync_pt_create`: a point at `seqno`, on the active list. Process context. */
export function syncPtCreate(k: Kernel, tl: Timeline, ops: DmaFenceOps<SyncPt>, seqno: number): SyncPt {
  const pt = new SyncPt(k, tl, ops, seqno);
  const fl = tl.lock.lockIrqsave();
  tl.active.addTail(pt);
  pt.link.linked = true;
  tl.lock.unlockIrqrestore(fl);
  return pt;
}

/** `sync_timeline_signal`: advance by `inc`, signal and unlink every point passed, under the lock. */
export function timelineSignal(tl: Timeline, inc: number): void {
  tl.lock.lockIrq();
  tl.value = tl.value + inc;
  for (const pt of tl.active.entries()) {
    if (pt.seqno > tl.value) break;
    pt.signalLocked();
    tl.active.del(pt);
    pt.link.linked = false;
  }
  tl.lock.unlockIrq();
}
