import { describe, expect, it } from 'vitest';
import { Errno, Kernel } from '../../src/kernel/index.ts';
import { DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, Device, IommuDomain, PAGE_SIZE } from '../../src/pci/index.ts';
import { PhysMem, SystemHeap, VMALLOC_START, physMemOf, systemHeapAllocate } from '../../src/buf/index.ts';
import type { SystemHeapAttachment, SystemHeapBuffer, VmapArea } from '../../src/buf/index.ts';
import { FailAt } from './heap-fail-at.ts';

const K = 1024;
const M = 1024 * K;

function buffer(target: Kernel | PhysMem | SystemHeap, len: number): SystemHeapBuffer {
  const b = systemHeapAllocate(target, len);
  if (typeof b === 'number') throw new Error(`errno ${b}`);
  return b;
}

function area(a: VmapArea | number): VmapArea {
  if (typeof a === 'number') throw new Error(`errno ${a}`);
  return a;
}

describe('system heap vmap', () => {
  it('maps every page in buffer order, one operation per chunk when batched', async () => {
    const mem = new PhysMem({ size: 16 * M });
    const b = buffer(mem, 2 * M + 68 * K);
    const v = area(await b.vmap());
    expect(v.addr).toBe(VMALLOC_START);
    expect(v.npages).toBe(529);
    expect(Array.from(v.pfns)).toEqual(b.chunks.flatMap((c) => Array.from({ length: 1 << c.order }, (_, i) => c.pfn + i)));
    expect(v.mapOps).toBe(4);
    // The next area starts after a guard page.
    const next = area(await buffer(mem, 4 * K).vmap());
    expect(next.addr).toBe(VMALLOC_START + 530 * PAGE_SIZE);
    const perPage = buffer(new SystemHeap(mem, { vmapBatched: false }), 2 * M + 68 * K);
    expect(area(await perPage.vmap()).mapOps).toBe(529);
  });

  it('counts users: the same mapping until the last vunmap', async () => {
    const b = buffer(new PhysMem({ size: 4 * M }), 64 * K);
    const v1 = area(await b.vmap());
    const v2 = area(await b.vmap());
    expect(v2).toBe(v1);
    expect(b.vmapCnt).toBe(2);
    await b.vunmap(v1);
    expect(v1.unmapped).toBe(false);
    await b.vunmap(v1);
    expect(v1.unmapped).toBe(true);
    expect(b.vaddr).toBeNull();
    await b.vunmap(v1);
    expect(b.violations).toEqual(['vunmap without a vmap']);
    const b2 = buffer(new PhysMem({ size: 4 * M }), 64 * K);
    const x = area(await b2.vmap());
    const y = area(await b2.vmap());
    expect(x.addr).toBe(y.addr);
  });

  it('fails with -ENOMEM when the page array allocation is injected', async () => {
    const k = new Kernel({ chooser: new FailAt(['system_heap_do_vmap']) });
    let ret: unknown;
    k.kthreadRun('t', async () => {
      ret = await buffer(k, 64 * K).vmap();
    });
    await k.run();
    expect(ret).toBe(-Errno.ENOMEM);
  });

  it('with a kernel, takes the buffer mutex (one lockdep class for all buffers)', async () => {
    const k = new Kernel();
    const locks: string[] = [];
    k.events.on((e) => {
      if (e.type === 'lock-acquire' && e.cls === 'system_heap_buffer->lock') locks.push(e.lock);
    });
    k.kthreadRun('t', async () => {
      const a = buffer(k, 64 * K);
      const b = buffer(k, 64 * K);
      expect(a.lock!.dep.key).toBe(b.lock!.dep.key);
      const v = area(await a.vmap());
      await a.vunmap(v);
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(locks).toEqual(['system_heap_buffer.lock', 'system_heap_buffer.lock']);
    expect(physMemOf(k).stats.allocs).toBe(2);
  });
});

describe('system heap attachments', () => {
  it('each attachment maps its own copy of the table for its device', async () => {
    const b = buffer(new PhysMem({ size: 16 * M }), 1 * M + 64 * K + 4 * K);
    const direct = new Device('direct');
    const dom = new IommuDomain('dma');
    const behindIommu = new Device('gpu', null, { iommu: dom, maxSegmentSize: 4 * M });
    const a1 = (await b.attach(direct)) as SystemHeapAttachment;
    const a2 = (await b.attach(behindIommu)) as SystemHeapAttachment;
    expect(b.attachments).toEqual([a1, a2]);
    expect(a1.table).not.toBe(b.sgTable);
    const t1 = b.mapDmaBuf(a1, DMA_BIDIRECTIONAL);
    const t2 = b.mapDmaBuf(a2, DMA_BIDIRECTIONAL);
    if (typeof t1 === 'number' || typeof t2 === 'number') throw new Error('map failed');
    expect(t1.dmaEntries().map((e) => e.dmaAddress)).toEqual(b.chunks.map((c) => c.pfn * PAGE_SIZE));
    expect(t2.nents).toBe(1);
    expect(t2.dmaEntries()[0]!.dmaLength).toBe(b.len);
    expect(b.sgTable.mapping).toBeNull();

    expect(await b.beginCpuAccess(DMA_FROM_DEVICE)).toBe(0);
    expect(await b.endCpuAccess(DMA_FROM_DEVICE)).toBe(0);
    expect([t1.syncs, t2.syncs]).toEqual([
      { forCpu: 1, forDevice: 1 },
      { forCpu: 1, forDevice: 1 },
    ]);
    b.unmapDmaBuf(a2, t2, DMA_BIDIRECTIONAL);
    expect(dom.liveAllocations).toBe(0);
    await b.beginCpuAccess(DMA_FROM_DEVICE);
    expect(t2.syncs.forCpu).toBe(1);
    await b.detach(a2);
    expect(b.attachments).toEqual([a1]);
    expect(a2.table.freed).toBe(true);
  });

  it('invalidates and flushes the kernel mapping around CPU access while vmapped', async () => {
    const b = buffer(new PhysMem({ size: 4 * M }), 64 * K);
    await b.beginCpuAccess(DMA_BIDIRECTIONAL);
    expect(b.cacheOps).toEqual({ invalidate: 0, flush: 0 });
    await b.vmap();
    await b.beginCpuAccess(DMA_BIDIRECTIONAL);
    await b.endCpuAccess(DMA_BIDIRECTIONAL);
    expect(b.cacheOps).toEqual({ invalidate: 1, flush: 1 });
  });

  it('attach fails with -ENOMEM on an injected allocation', async () => {
    const k = new Kernel({ chooser: new FailAt(['system_heap_attach']) });
    let ret: unknown;
    k.kthreadRun('t', async () => {
      ret = await buffer(k, 64 * K).attach(new Device('d'));
    });
    await k.run();
    expect(ret).toBe(-Errno.ENOMEM);
  });
});
