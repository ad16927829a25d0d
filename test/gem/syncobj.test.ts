/**
 * drm_syncobj from kernel code (the functions drivers call) and the parts of
 * the ioctl view IGT does not cover: chains built by add_point, find_fence
 * with WAIT_FOR_SUBMIT, sync_file import/export snapshots, eventfds, the
 * deadline hint, and replay identity.
 */
import { describe, expect, it } from 'vitest';
import { createCheckedKernel } from '../../src/check/index.ts';
import { checkDeterminism } from '../../src/explore/index.ts';
import {
  dmaFenceChainAlloc,
  dmaFenceContextAlloc,
  DmaFence,
  eventfdCreate,
  eventfdReadNonblock,
  toDmaFenceChain,
  UserProcess,
} from '../../src/fence/index.ts';
import type { DmaFenceOps, FencePtr } from '../../src/fence/index.ts';
import {
  DrmFile,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
  drmSyncobjAddPoint,
  drmSyncobjCreate,
  drmSyncobjFindFence,
  drmSyncobjGetHandle,
  drmSyncobjReplaceFence,
} from '../../src/gem/index.ts';
import type { DrmSyncobj } from '../../src/gem/index.ts';
import { Errno, Kernel, msleep, Mutex, SpinLock } from '../../src/kernel/index.ts';
import { drmDevice } from './gem-helpers.ts';
import {
  createFence,
  igtRun,
  inc,
  syncobjAttachSwSync,
  syncobjCreate,
  syncobjHandleToFd,
  syncobjImportSyncFile,
  syncobjReset,
  syncobjSignal,
  syncobjTimelineQuery,
  syncobjTimelineSignal,
  syncobjTimelineWaitErr,
  timelineCreate,
} from './syncobj-helpers.ts';

const ops: DmaFenceOps = { getDriverName: () => 'test', getTimelineName: () => 'ring' };

function hwFence(k: Kernel, ctx: number, seqno: number): DmaFence {
  return new DmaFence(k, ops, new SpinLock(k, 'ring lock', { key: 'test.ring_lock' }), ctx, seqno);
}

function timelineSyncobj(k: Kernel): { file: DrmFile; syncobj: DrmSyncobj; handle: number } {
  const file = new DrmFile(drmDevice(k, 'gpu'));
  const s = drmSyncobjCreate(k, 0);
  if (typeof s === 'number') throw new Error(`create: ${s}`);
  const handle = drmSyncobjGetHandle(file, s);
  return { file, syncobj: s, handle };
}

describe('drm_syncobj from kernel code', () => {
  it('add_point builds a dma_fence_chain: one context for the timeline, each node over its fence and the previous point', async () => {
    const k = new Kernel();
    const seen: unknown[] = [];
    k.kthreadRun('t', () => {
      const { syncobj } = timelineSyncobj(k);
      const ctx = dmaFenceContextAlloc(k, 1);
      const f1 = hwFence(k, ctx, 1);
      const f2 = hwFence(k, ctx, 2);
      drmSyncobjAddPoint(syncobj, dmaFenceChainAlloc(k)!, f1, 1);
      drmSyncobjAddPoint(syncobj, dmaFenceChainAlloc(k)!, f2, 5);
      const head = toDmaFenceChain(syncobj.fence)!;
      const prev = toDmaFenceChain(head.prev)!;
      seen.push([head.seqno, head.prevSeqno, head.fence === f2, prev.seqno, prev.fence === f1, head.context === prev.context]);
      f1.signal();
      seen.push(head.isSignaled());
      f2.signal();
      seen.push(head.isSignaled());
      drmSyncobjReplaceFence(syncobj, null);
      syncobj.put();
      f1.put();
      f2.put();
    });
    const r = await k.run();
    expect(r.splats).toEqual([]);
    expect(seen).toEqual([[5, 1, true, 1, true, true], false, true]);
  });

  it('find_fence: point 0 is the current fence; a future point is -EINVAL; a collected point is a signalled stub', async () => {
    const k = new Kernel();
    const got: unknown[] = [];
    k.kthreadRun('t', async () => {
      const { file, syncobj, handle } = timelineSyncobj(k);
      const ctx = dmaFenceContextAlloc(k, 1);
      const f1 = hwFence(k, ctx, 1);
      drmSyncobjAddPoint(syncobj, dmaFenceChainAlloc(k)!, f1, 1);
      const p: FencePtr = { fence: null };
      got.push(await drmSyncobjFindFence(file, handle, 2, 0, p), p.fence);
      got.push(await drmSyncobjFindFence(file, handle, 1, 0, p), toDmaFenceChain(p.fence)?.seqno);
      p.fence!.put();
      f1.signal();
      const f3 = hwFence(k, ctx, 3);
      drmSyncobjAddPoint(syncobj, dmaFenceChainAlloc(k)!, f3, 3);
      got.push(await drmSyncobjFindFence(file, handle, 1, 0, p), [p.fence!.context, p.fence!.seqno], p.fence!.isSignaled());
      p.fence!.put();
      got.push(await drmSyncobjFindFence(file, 99, 0, 0, p));
      got.push(await drmSyncobjFindFence(file, handle, 0, 0x80, p));
      f3.signal();
      f1.put();
      f3.put();
      syncobj.put();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(got).toEqual([-Errno.EINVAL, null, 0, 1, 0, [0, 0], true, -Errno.ENOENT, -Errno.EINVAL]);
  });

  it('find_fence with WAIT_FOR_SUBMIT waits for another thread to add the point, then returns its fence', async () => {
    const k = new Kernel();
    const got: unknown[] = [];
    const { file, syncobj, handle } = timelineSyncobj(k);
    const ctx = dmaFenceContextAlloc(k, 1);
    const f = hwFence(k, ctx, 1);
    k.kthreadRun('consumer', async () => {
      const p: FencePtr = { fence: null };
      got.push(await drmSyncobjFindFence(file, handle, 7, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, p), k.nowNs / 1e6);
      got.push(toDmaFenceChain(p.fence)?.fence === f);
      p.fence!.put();
    });
    k.kthreadRun('producer', async () => {
      await msleep(k, 3);
      drmSyncobjAddPoint(syncobj, dmaFenceChainAlloc(k)!, f, 7);
      f.signal();
    });
    const r = await k.run();
    expect(r.splats).toEqual([]);
    expect(got).toEqual([0, 4, true]);
  });

  it('find_fence with WAIT_FOR_SUBMIT gives up with -ETIME after 5 s (DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT)', async () => {
    const k = new Kernel();
    const got: number[] = [];
    const { file, handle } = timelineSyncobj(k);
    k.kthreadRun('consumer', async () => {
      const p: FencePtr = { fence: null };
      got.push(await drmSyncobjFindFence(file, handle, 1, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, p), k.nowNs / 1e9);
    });
    await k.run();
    expect(got[0]).toBe(-Errno.ETIME);
    expect(got[1]).toBeCloseTo(5, 2);
  });

  it('find_fence with WAIT_FOR_SUBMIT while holding a lock: lockdep_assert_none_held_once WARNs (waiting for userspace under a lock)', async () => {
    const k = createCheckedKernel({ priming: false });
    const { file, syncobj, handle } = timelineSyncobj(k);
    const m = new Mutex(k, 'ctx->lock');
    k.kthreadRun('submit', async () => {
      await m.lock();
      drmSyncobjReplaceFence(syncobj, null);
      const p: FencePtr = { fence: null };
      await drmSyncobjFindFence(file, handle, 0, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, p).then((r) => r);
      m.unlock();
    });
    const r = await k.run();
    expect(r.splats.map((s) => s.rule)).toEqual(['lockdep.assert_none_held']);
  });

  it('a point below the last one is accepted, as the kernel does (only a debug message); QUERY then reports what the chain says', async () => {
    await igtRun(async (p, fd) => {
      const s = await syncobjCreate(p, fd);
      await syncobjTimelineSignal(p, fd, [s], [10]);
      await syncobjTimelineSignal(p, fd, [s], [4]);
      expect(await syncobjTimelineWaitErr(p, fd, [s], [10], 0, 0)).toBe(0);
      // The new node's seqno is forced up to max(10, 4) on a fresh context: the point is 10.
      expect(await syncobjTimelineQuery(p, fd, [s])).toEqual([10]);
    });
  });

  it('waiting for a point above the last submitted one without WAIT_FOR_SUBMIT is -EINVAL (dma_fence_chain_find_seqno)', async () => {
    await igtRun(async (p, fd) => {
      const s = await syncobjCreate(p, fd);
      await syncobjTimelineSignal(p, fd, [s], [3]);
      expect(await syncobjTimelineWaitErr(p, fd, [s], [4], 0, 0)).toBe(-Errno.EINVAL);
      expect(await syncobjTimelineWaitErr(p, fd, [s], [2], 0, 0)).toBe(0);
    });
  });
});

describe('drm_syncobj: sync_file import/export and eventfd', () => {
  it('an exported sync_file keeps the fence of the export; reset and signal later do not change it', async () => {
    await igtRun(async (p, fd) => {
      const s = await syncobjCreate(p, fd);
      const tl = await syncobjAttachSwSync(p, fd, s);
      const a = { handle: s, flags: 1, fd: -1 };
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', a)).toBe(0);
      await syncobjReset(p, fd, [s]);
      await syncobjSignal(p, fd, [s]);
      expect(await p.poll([{ fd: a.fd, events: 1 }], 0)).toBe(0);
      await inc(p, tl, 1);
      expect(await p.poll([{ fd: a.fd, events: 1 }], 0)).toBe(1);
      // Export of an empty syncobj: no fence, -EINVAL.
      await syncobjReset(p, fd, [s]);
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', { handle: s, flags: 1 })).toBe(-Errno.EINVAL);
      // Importing an fd that is not a sync_file: -EINVAL.
      const sfd = await syncobjHandleToFd(p, fd, s);
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', { handle: s, flags: 1, fd: sfd })).toBe(-Errno.EINVAL);
      p.close(tl);
    });
  });

  it('EVENTFD: signalled when the point signals; with WAIT_AVAILABLE as soon as it is submitted; at once if already there', async () => {
    await igtRun(async (p, fd) => {
      const s = await syncobjCreate(p, fd);
      const evSignal = eventfdCreate(p);
      const evAvail = eventfdCreate(p);
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_EVENTFD', { handle: s, point: 1, fd: evSignal, flags: 0 })).toBe(0);
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_EVENTFD', { handle: s, point: 1, fd: evAvail, flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE })).toBe(0);
      expect([eventfdReadNonblock(p, evSignal), eventfdReadNonblock(p, evAvail)]).toEqual([-Errno.EAGAIN, -Errno.EAGAIN]);
      const tl = await syncobjAttachSwSync(p, fd, s, 1);
      expect([eventfdReadNonblock(p, evSignal), eventfdReadNonblock(p, evAvail)]).toEqual([-Errno.EAGAIN, 1]);
      await inc(p, tl, 1);
      // The chain node signals from its irq_work, a moment after the point: poll for it.
      expect(await p.poll([{ fd: evSignal, events: 1 }], 10)).toBe(1);
      expect(eventfdReadNonblock(p, evSignal)).toBe(1);
      const late = eventfdCreate(p);
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_EVENTFD', { handle: s, point: 1, fd: late })).toBe(0);
      expect(eventfdReadNonblock(p, late)).toBe(1);
      // Argument checks.
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_EVENTFD', { handle: s, fd: late, flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT })).toBe(-Errno.EINVAL);
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_EVENTFD', { handle: s, fd: late, pad: 1 })).toBe(-Errno.EINVAL);
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_EVENTFD', { handle: 99, fd: late })).toBe(-Errno.ENOENT);
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_EVENTFD', { handle: s, fd: 77 })).toBe(-Errno.EBADF);
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_EVENTFD', { handle: s, fd: tl })).toBe(-Errno.EINVAL);
      p.close(tl);
    });
  });

  it('an eventfd registration still pending when the syncobj goes away is dropped with it', async () => {
    await igtRun(async (p, fd) => {
      const s = await syncobjCreate(p, fd);
      const ev = eventfdCreate(p);
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_EVENTFD', { handle: s, point: 5, fd: ev })).toBe(0);
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_DESTROY', { handle: s })).toBe(0);
      expect(eventfdReadNonblock(p, ev)).toBe(-Errno.EAGAIN);
    });
  });

  it('WAIT_DEADLINE passes the deadline to the fences before waiting (sw_sync records it)', async () => {
    await igtRun(async (p, fd, k) => {
      const s = await syncobjCreate(p, fd);
      const tl = timelineCreate(p);
      const fence = await createFence(p, tl, 1);
      await syncobjImportSyncFile(p, fd, s, fence);
      const deadline = k.nowNs + 3_000_000;
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_WAIT', { handles: [s], countHandles: 1, timeoutNsec: 0, flags: 1 << 3, deadlineNsec: deadline })).toBe(-Errno.ETIME);
      const q = { deadlineNs: 0, pad: 0, fenceFd: fence };
      expect(await p.ioctl(tl, 'SW_SYNC_GET_DEADLINE', q)).toBe(0);
      expect(q.deadlineNs).toBe(deadline);
      p.close(fence);
      p.close(tl);
    });
  });

  it('a syncobj wait on fences nobody signals ends the run as a deadlock that names the syncobj wait', async () => {
    const k = new Kernel();
    const p = new UserProcess(k, 'app');
    p.spawn('waiter', async () => {
      const { drmOpenDriver } = await import('./syncobj-helpers.ts');
      const fd = drmOpenDriver(p);
      const s = await syncobjCreate(p, fd);
      await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_WAIT', { handles: [s], countHandles: 1, timeoutNsec: Number.POSITIVE_INFINITY, flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT });
    });
    const r = await k.run();
    expect(r.end).toBe('deadlock');
    expect(r.splats[0]!.body).toContain('waiter blocked in drm_syncobj_array_wait on any of 1 syncobj (waiting for submissions)');
  });
});

describe('drm_syncobj: replay identity', () => {
  it('a timeline with waiters, a submitter and eventfds replays event for event', async () => {
    const c = await checkDeterminism((k) => {
      const p = new UserProcess(k, 'app');
      const shared: { fd: number; s: number } = { fd: -1, s: 0 };
      p.spawn('submitter', async () => {
        const { drmOpenDriver } = await import('./syncobj-helpers.ts');
        shared.fd = drmOpenDriver(p);
        shared.s = await syncobjCreate(p, shared.fd);
        const tl = timelineCreate(p);
        for (let i = 1; i <= 4; i++) {
          const f = await createFence(p, tl, i);
          const tmp = await syncobjCreate(p, shared.fd);
          await syncobjImportSyncFile(p, shared.fd, tmp, f);
          await p.ioctl(shared.fd, 'DRM_IOCTL_SYNCOBJ_TRANSFER', { srcHandle: tmp, dstHandle: shared.s, dstPoint: i });
          p.close(f);
          await msleep(k, 1);
          await inc(p, tl, 1);
        }
        p.close(tl);
      });
      for (const w of [2, 4]) {
        p.spawn(`waiter${w}`, async () => {
          while (shared.fd < 0) await msleep(k, 1);
          await syncobjTimelineWaitErr(p, shared.fd, [shared.s], [w], Number.POSITIVE_INFINITY, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT);
        });
      }
    });
    expect(c.result.splats).toEqual([]);
    expect(c.b).toBe(c.a);
    expect(c.replay).toBe(c.a);
  });
});
