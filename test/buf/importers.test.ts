import { describe, expect, it } from 'vitest';
import { Completion, Errno, msleep } from '../../src/kernel/index.ts';
import { DMA_BIDIRECTIONAL } from '../../src/pci/index.ts';
import { DmaBufAttachment } from '../../src/buf/index.ts';
import type { DmaBuf, SgTable } from '../../src/buf/index.ts';
import { DmaResvUsage } from '../../src/resv/index.ts';
import { checkedKernel, mkFence, rules } from '../resv/helpers.ts';
import { dev, testExporter, testImporter } from './dmabuf-helpers.ts';

describe('static and dynamic importers', () => {
  it('a static importer of a dynamic exporter pins on map and unpins on unmap; a dynamic one does not', async () => {
    const k = checkedKernel();
    k.kthreadRun('t', async () => {
      const { dmabuf, stats } = testExporter(k, { dynamic: true });
      expect(dmabuf.isDynamic).toBe(true);
      const st = (await dmabuf.attach(dev('static'))) as DmaBufAttachment;
      const dy = (await dmabuf.dynamicAttach(dev('dynamic'), testImporter())) as DmaBufAttachment;
      expect(st.isDynamic).toBe(false);
      expect(dy.isDynamic).toBe(true);
      const s1 = (await st.mapAttachmentUnlocked(DMA_BIDIRECTIONAL)) as SgTable;
      expect(stats.pin).toBe(1);
      await dmabuf.resv.lock(null);
      const s2 = (await dy.mapAttachment(DMA_BIDIRECTIONAL)) as SgTable;
      expect(stats.pin).toBe(1);
      // Dynamic importers pin explicitly.
      expect(await dy.pin()).toBe(0);
      expect(stats.pin).toBe(2);
      await dy.unpin();
      await dy.unmapAttachment(s2, DMA_BIDIRECTIONAL);
      dmabuf.resv.unlock();
      await st.unmapAttachmentUnlocked(s1, DMA_BIDIRECTIONAL);
      expect(stats.unpin).toBe(2);
      expect(stats.map).toBe(2);
      expect(stats.unmap).toBe(2);
      await dmabuf.detach(st);
      await dmabuf.detach(dy);
      expect(stats.attach).toBe(2);
      expect(stats.detach).toBe(2);
      dmabuf.put();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
  });

  it('a static map waits for KERNEL fences (a pending move), a dynamic map does not', async () => {
    const k = checkedKernel();
    const done: string[] = [];
    const ready = new Completion(k, 'ready');
    let dmabuf!: DmaBuf;
    const move = mkFence(k);
    k.kthreadRun('exporter', async () => {
      dmabuf = testExporter(k).dmabuf;
      await dmabuf.resv.lock(null);
      dmabuf.resv.reserveFences(1);
      dmabuf.resv.addFence(move, DmaResvUsage.KERNEL);
      dmabuf.resv.unlock();
      ready.completeAll();
      await msleep(k, 10);
      done.push('move');
      move.signal();
    });
    // The static map holds the resv lock while it waits, so the dynamic importer maps first.
    const dyMapped = new Completion(k, 'dy mapped');
    for (const kind of ['st', 'dy'] as const) {
      k.kthreadRun(kind, async () => {
        await ready.waitForCompletion();
        if (kind === 'st') await dyMapped.waitForCompletion();
        dmabuf.get(); // an importer holds a reference while attached
        const a = (
          kind === 'st'
            ? await dmabuf.attach(dev(kind))
            : await dmabuf.dynamicAttach(dev(kind), testImporter())
        ) as DmaBufAttachment;
        const sgt = (await a.mapAttachmentUnlocked(DMA_BIDIRECTIONAL)) as SgTable;
        done.push(kind);
        if (kind === 'dy') dyMapped.complete();
        await a.unmapAttachmentUnlocked(sgt, DMA_BIDIRECTIONAL);
        await dmabuf.detach(a);
        dmabuf.put();
      });
    }
    k.kthreadRun('reaper', async () => {
      await msleep(k, 20);
      move.put();
      dmabuf.put();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
    expect(done.indexOf('dy')).toBeLessThan(done.indexOf('move'));
    expect(done.indexOf('st')).toBeGreaterThan(done.indexOf('move'));
  });

  it('move_notify reaches dynamic importers only, with the lock held; their mappings are marked invalidated', async () => {
    const k = checkedKernel();
    k.kthreadRun('t', async () => {
      const { dmabuf } = testExporter(k);
      let heldInCallback = false;
      const imp = testImporter({
        onMove: () => {
          heldInCallback = dmabuf.resv.held();
        },
      });
      const dy = (await dmabuf.dynamicAttach(dev('dy'), imp)) as DmaBufAttachment;
      const st = (await dmabuf.attach(dev('st'))) as DmaBufAttachment;
      await dmabuf.resv.lock(null);
      const sgt = (await dy.mapAttachment(DMA_BIDIRECTIONAL)) as SgTable;
      await dmabuf.moveNotify();
      expect(imp.moves).toBe(1);
      expect(heldInCallback).toBe(true);
      expect(dy.invalidations).toBe(1);
      expect(st.invalidations).toBe(0);
      expect(dy.mappings.get(sgt)!.state).toBe('invalidated');
      // After a plain move the old mapping may still be used until the move's fences signal.
      expect(dy.access(sgt)).toBe(true);
      await dy.unmapAttachment(sgt, DMA_BIDIRECTIONAL);
      dmabuf.resv.unlock();
      await dmabuf.detach(dy);
      await dmabuf.detach(st);
      dmabuf.put();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
  });

  it('map without the resv lock, pin by a static importer, importer ops without move_notify, exporter refusal', async () => {
    const k = checkedKernel();
    const results: number[] = [];
    k.kthreadRun('t', async () => {
      const { dmabuf } = testExporter(k, { dynamic: true });
      const dy = (await dmabuf.dynamicAttach(dev('dy'), testImporter())) as DmaBufAttachment;
      const sgt = (await dy.mapAttachment(DMA_BIDIRECTIONAL)) as SgTable;
      await dy.unmapAttachmentUnlocked(sgt, DMA_BIDIRECTIONAL);
      const st = (await dmabuf.attach(dev('st'))) as DmaBufAttachment;
      await dmabuf.resv.lock(null);
      results.push(await st.pin());
      await st.unpin();
      dmabuf.resv.unlock();
      results.push(
        (await dmabuf.dynamicAttach(dev('x'), { moveNotify: undefined } as never)) as number,
      );
      await dmabuf.detach(dy);
      await dmabuf.detach(st);
      dmabuf.put();
      const busy = testExporter(k, { attachResult: -Errno.EBUSY });
      results.push((await busy.dmabuf.attach(dev())) as number);
      busy.dmabuf.put();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(results).toEqual([0, -Errno.EINVAL, -Errno.EBUSY]);
    expect(rules(r)).toEqual([
      'dma_buf.map_without_resv_lock',
      'dma_buf.pin_static',
      'dma_buf.pin_static',
      'dma_buf.attach_invalid',
    ]);
  });
});
