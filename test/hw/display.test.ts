/**
 * The atomic commit helpers: the helper's commit tail is a fence signalling
 * section (drm_atomic_helper_commit_tail), so a display driver's hooks get
 * the lockdep checks without annotating anything; out-fences signal at the
 * vblank after the hardware was programmed.
 */
import { describe, expect, it } from 'vitest';
import { createCheckedKernel } from '../../src/check/index.ts';
import { dmaFenceContextAlloc, DmaFence } from '../../src/fence/index.ts';
import { DrmAtomicState, drmAtomicHelperCommit, DrmCrtc } from '../../src/hw/index.ts';
import type { DrmDisplayFuncs } from '../../src/hw/index.ts';
import { checkDeterminism } from '../../src/explore/index.ts';
import { GFP_ATOMIC, GFP_KERNEL, kmalloc, msleep, Mutex, SpinLock } from '../../src/kernel/index.ts';
import type { Kernel } from '../../src/kernel/index.ts';

const rules = (k: { splats: readonly { rule: string }[] }): string[] => k.splats.map((s) => s.rule);

function commitOnce(k: Kernel, funcs: DrmDisplayFuncs, nonblock = false, inFence: DmaFence | null = null): { times: number[] } {
  const crtc = new DrmCrtc(k, 'crtc-0', 40);
  const times: number[] = [];
  k.kthreadRun('compositor', async () => {
    const out = crtc.createFence()!;
    const state = new DrmAtomicState(crtc, [{ fb: 'fb0', fence: inFence }], out.get());
    expect(await drmAtomicHelperCommit(state, funcs, nonblock)).toBe(0);
    await out.wait(false);
    times.push(out.timestampNs, crtc.vblankCount);
    out.put();
  });
  return { times };
}

describe('drm_atomic_helper_commit_tail', () => {
  it('programs the planes, arms the event and signals the out-fence at the next vblank', async () => {
    const k = createCheckedKernel({ priming: false });
    const updates: string[] = [];
    const { times } = commitOnce(k, { atomicUpdate: (_s, plane) => void updates.push(`plane${plane}`) });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
    expect(updates).toEqual(['plane0']);
    expect(times).toEqual([16_666_667, 1]);
  });

  it('waits for the planes\' in-fences first (outside the signalling section)', async () => {
    const k = createCheckedKernel({ priming: false });
    const ops = { getDriverName: () => 'gpu', getTimelineName: () => 'ring' };
    const inFence = new DmaFence(k, ops, new SpinLock(k, 'ring', { key: 'test.ring' }), dmaFenceContextAlloc(k, 1), 1);
    const seen: number[] = [];
    const { times } = commitOnce(k, { atomicUpdate: () => void seen.push(k.nowNs) }, true, inFence);
    k.kthreadRun('gpu', async () => {
      await msleep(k, 20);
      inFence.signal();
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
    expect(seen[0]).toBeGreaterThanOrEqual(20e6);
    expect(times[0]).toBe(2 * 16_666_667);
  });

  it('a GFP_KERNEL allocation in atomic_update is a circular dependency through dma_fence_map, with no annotation in the driver', async () => {
    const k = createCheckedKernel();
    commitOnce(k, {
      atomicUpdate: () => {
        kmalloc(k, 4096, GFP_KERNEL, 'dpu_plane_descriptors'); // BUG: may reclaim under the commit tail
      },
    });
    const r = await k.run();
    expect(rules(r)).toEqual(['lockdep.circular']);
    expect(r.splats[0]!.body).toContain('dma_fence_map');
  });

  it('GFP_ATOMIC there is clean; so is a GFP_KERNEL allocation in cleanup_fb, after the section', async () => {
    const k = createCheckedKernel();
    commitOnce(k, {
      atomicUpdate: () => {
        kmalloc(k, 4096, GFP_ATOMIC, 'dpu_plane_descriptors');
      },
      cleanupFb: () => {
        kmalloc(k, 64, GFP_KERNEL, 'cleanup');
      },
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
  });

  it('a lock held across a fence wait elsewhere and taken in atomic_enable is reported (nonblocking commit)', async () => {
    const k = createCheckedKernel({ priming: false });
    const pmLock = new Mutex(k, 'dpu->pm_lock');
    const ops = { getDriverName: () => 'gpu', getTimelineName: () => 'ring' };
    k.kthreadRun('suspend', async () => {
      const f = new DmaFence(k, ops, new SpinLock(k, 'ring', { key: 'test.ring' }), dmaFenceContextAlloc(k, 1), 1);
      f.signal();
      await pmLock.lock();
      await f.wait(false); // waits for the display's fences with the lock held
      pmLock.unlock();
      f.put();
    });
    commitOnce(k, {
      atomicUpdate: () => {},
      atomicEnable: async () => {
        await pmLock.lock();
        pmLock.unlock();
      },
    }, true);
    const r = await k.run();
    expect(rules(r)).toEqual(['lockdep.circular']);
  });

  it('a driver\'s own atomic_commit_tail is not annotated by the helper (it must annotate itself)', async () => {
    const k = createCheckedKernel();
    const crtcFlush: string[] = [];
    commitOnce(k, {
      atomicUpdate: () => {},
      atomicCommitTail: (state) => {
        kmalloc(k, 4096, GFP_KERNEL, 'own tail');
        crtcFlush.push('flush');
        state.crtc.armVblankEvent(state.outFence!);
        state.hwDone.completeAll();
      },
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
    expect(crtcFlush).toEqual(['flush']);
  });

  it('replays identically', async () => {
    const c = await checkDeterminism((k) => {
      const crtc = new DrmCrtc(k, 'crtc-0', 40);
      for (const n of ['a', 'b']) {
        k.kthreadRun(`client-${n}`, async () => {
          for (let i = 0; i < 3; i++) {
            const out = crtc.createFence()!;
            await drmAtomicHelperCommit(new DrmAtomicState(crtc, [{ fb: n, fence: null }], out.get()), { atomicUpdate: () => {} }, true);
            await out.wait(false);
            out.put();
          }
        });
      }
    });
    expect(c.result.splats).toEqual([]);
    expect(c.b).toBe(c.a);
    expect(c.replay).toBe(c.a);
  });
});
