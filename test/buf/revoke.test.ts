import { describe, expect, it } from 'vitest';
import { Errno, msleep } from '../../src/kernel/index.ts';
import type { Kernel } from '../../src/kernel/index.ts';
import { DmaBufAttachment } from '../../src/buf/index.ts';
import type { DmaBuf, SgTable } from '../../src/buf/index.ts';
import { DmaResvUsage } from '../../src/resv/index.ts';
import { checkedKernel, determinism, mkFence, rules } from '../resv/helpers.ts';
import { dev, testExporter, testImporter } from './dmabuf-helpers.ts';

/** An importer that drops its mapping when told and maps again on its next use. */
function wellBehaved() {
  const state = {
    sgt: null as SgTable | null,
    attach: null as DmaBufAttachment | null,
    results: [] as number[],
  };
  const imp = testImporter({
    onMove: async (a) => {
      // Called with the resv lock held: unmap right here.
      if (state.sgt) await a.unmapAttachment(state.sgt, 0);
      state.sgt = null;
    },
  });
  /** One use: map if needed (under the lock), then DMA. */
  async function use(d: DmaBuf): Promise<number> {
    await d.resv.lock(null);
    try {
      if (!state.sgt) {
        const r = await state.attach!.mapAttachment(0);
        if (typeof r === 'number') return r;
        state.sgt = r;
      }
      state.attach!.access(state.sgt);
      return 0;
    } finally {
      d.resv.unlock();
    }
  }
  return { state, imp, use };
}

function resetScenario(k: Kernel, log: string[], moves: number[], invalidations: number[]): void {
  let dmabuf!: DmaBuf;
  const imp = wellBehaved();
  k.kthreadRun('importer', async () => {
    dmabuf = testExporter(k, { dynamic: true }).dmabuf;
    const a = (await dmabuf.dynamicAttach(dev('iommufd'), imp.imp)) as DmaBufAttachment;
    imp.state.attach = a;
    for (let i = 0; i < 8; i++) {
      const r = await imp.use(dmabuf);
      log.push(`use ${k.nowNs / 1e6}ms: ${r}`);
      await msleep(k, 4);
    }
    if (imp.state.sgt) await a.unmapAttachmentUnlocked(imp.state.sgt, 0);
    moves.push(imp.imp.moves);
    invalidations.push(a.invalidations);
    await dmabuf.detach(a);
    dmabuf.put();
  });
  k.kthreadRun('reset', async () => {
    await msleep(k, 6);
    log.push(`revoke ${await dmabuf.revoke()}`);
    // A second revoke changes nothing and notifies nobody.
    log.push(`revoke again ${await dmabuf.revoke()}`);
    const late = await dmabuf.attach(dev('late'));
    log.push(`attach while revoked ${late as number}`);
    await msleep(k, 10); // FLR
    log.push(`unrevoke ${await dmabuf.unrevoke()}`);
    log.push(`unrevoke again ${await dmabuf.unrevoke()}`);
  });
}

describe('revocation around a device reset', () => {
  it('one invalidation each way, maps fail with -ENODEV in between, work resumes after', async () => {
    const k = checkedKernel();
    const log: string[] = [];
    const moves: number[] = [];
    const inv: number[] = [];
    resetScenario(k, log, moves, inv);
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
    expect(moves).toEqual([2]);
    expect(inv).toEqual([2]);
    const revokeAt = log.indexOf('revoke 0');
    const unrevokeAt = log.indexOf('unrevoke 0');
    expect(revokeAt).toBeGreaterThan(0);
    expect(unrevokeAt).toBeGreaterThan(revokeAt);
    expect(log).toContain('attach while revoked -19');
    const uses = (from: number, to: number) =>
      log.slice(from, to).filter((l) => l.startsWith('use'));
    expect(uses(0, revokeAt).every((l) => l.endsWith(': 0'))).toBe(true);
    const between = uses(revokeAt, unrevokeAt);
    expect(between.length).toBeGreaterThan(0);
    expect(between.every((l) => l.endsWith(`: ${-Errno.ENODEV}`))).toBe(true);
    const after = uses(unrevokeAt, log.length);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((l) => l.endsWith(': 0'))).toBe(true);
  });

  it('replays byte for byte', async () => {
    const d = await determinism(
      (k) => {
        resetScenario(k, [], [], []);
      },
      { seed: 3 },
    );
    expect(d.b).toBe(d.a);
    expect(d.replay).toBe(d.a);
  });

  it('revoke waits for every fence of the resv before returning', async () => {
    const k = checkedKernel();
    const order: string[] = [];
    k.kthreadRun('t', async () => {
      const { dmabuf } = testExporter(k, { dynamic: true });
      const f = mkFence(k);
      await dmabuf.resv.lock(null);
      dmabuf.resv.reserveFences(1);
      dmabuf.resv.addFence(f, DmaResvUsage.BOOKKEEP);
      dmabuf.resv.unlock();
      k.kthreadRun('gpu', async () => {
        await msleep(k, 5);
        order.push('fence');
        f.signal();
        f.put();
      });
      await dmabuf.revoke();
      order.push('revoked');
      dmabuf.put();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(order).toEqual(['fence', 'revoked']);
  });

  it('an importer that keeps using a revoked mapping and never unmaps is reported', async () => {
    const k = checkedKernel();
    k.kthreadRun('t', async () => {
      const { dmabuf } = testExporter(k, { dynamic: true });
      // A broken importer: its invalidate callback does nothing.
      const a = (await dmabuf.dynamicAttach(dev('broken'), testImporter())) as DmaBufAttachment;
      const sgt = (await a.mapAttachmentUnlocked(0)) as SgTable;
      expect(a.access(sgt)).toBe(true);
      await dmabuf.revoke({ permanent: true });
      expect(a.access(sgt)).toBe(false);
      expect(await dmabuf.unrevoke()).toBe(-Errno.ENODEV);
      expect(await a.mapAttachmentUnlocked(0)).toBe(-Errno.ENODEV);
      // Reference kept to the end: the mapping is never unmapped.
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    // The revoke waited 1 s for the unmap before warning; then the use is caught.
    expect(rules(r)).toEqual(['dma_buf.mapping_not_unmapped', 'dma_buf.use_after_revoke']);
    expect(r.splats[0]!.timeNs).toBeGreaterThanOrEqual(1e9);
  });

  it('a mapping unmapped late (after the revoke returned) is not reported; use after unmap is', async () => {
    const k = checkedKernel();
    k.kthreadRun('t', async () => {
      const { dmabuf } = testExporter(k, { dynamic: true });
      const a = (await dmabuf.dynamicAttach(dev('slow'), testImporter())) as DmaBufAttachment;
      const sgt = (await a.mapAttachmentUnlocked(0)) as SgTable;
      await dmabuf.revoke({ waitUnmapMs: 0 });
      await msleep(k, 100);
      await a.unmapAttachmentUnlocked(sgt, 0);
      a.access(sgt);
      await dmabuf.detach(a);
      dmabuf.put();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual(['dma_buf.use_after_unmap']);
  });
});
