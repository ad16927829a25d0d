import { describe, expect, it } from 'vitest';
import { UserProcess } from '../../src/fence/index.ts';
import { Device, DMA_BIDIRECTIONAL, PAGE_SIZE } from '../../src/pci/index.ts';
import {
  dmaBufGet,
  dmaHeapBufferAlloc,
  dmaHeapIoctlAllocate,
  systemHeapOf,
  Vma,
} from '../../src/buf/index.ts';
import type {
  DmaBuf,
  DmaBufAttachment,
  IosysMap,
  SgTable,
  SystemHeapBuffer,
} from '../../src/buf/index.ts';
import { checkedKernel, rules } from '../resv/helpers.ts';

describe('the system heap as a dma-buf exporter', () => {
  it('a heap buffer is shared: attach, map, mmap and vmap go to the heap; release frees its pages', async () => {
    const k = checkedKernel();
    const proc = new UserProcess(k, 'app');
    const heap = systemHeapOf(k);
    const free0 = { pages: 0 };
    proc.spawn('app', async () => {
      free0.pages = heap.mem.freePages;
      const len = (1 << 20) + (64 << 10) + 3 * PAGE_SIZE; // one order-8, one order-4, three order-0 chunks
      const fd = dmaHeapIoctlAllocate(proc, k, len);
      expect(fd).toBeGreaterThanOrEqual(0);
      const dmabuf = dmaBufGet(proc, fd) as DmaBuf;
      const buf = dmabuf.priv as SystemHeapBuffer;
      expect(dmabuf.size).toBe(len);
      expect(buf.orders).toEqual([8, 4, 0, 0, 0]);
      const gpu = new Device('gpu');
      const a = (await dmabuf.attach(gpu)) as DmaBufAttachment;
      expect(buf.attachments).toHaveLength(1);
      const sgt = (await a.mapAttachmentUnlocked(DMA_BIDIRECTIONAL)) as SgTable;
      expect(typeof sgt).not.toBe('number');
      expect(sgt.entries.map((e) => e.length)).toEqual([
        1 << 20,
        64 << 10,
        PAGE_SIZE,
        PAGE_SIZE,
        PAGE_SIZE,
      ]);
      expect(sgt.dmaEntries().reduce((n, e) => n + e.dmaLength, 0)).toBe(len);
      await a.unmapAttachmentUnlocked(sgt, DMA_BIDIRECTIONAL);
      await dmabuf.detach(a);
      expect(buf.attachments).toHaveLength(0);
      // mmap maps one chunk per call.
      const vma = new Vma({ len, kernel: k });
      expect(await dmabuf.mmap(vma, 0)).toBe(0);
      expect(vma.mappedPages()).toBe(len / PAGE_SIZE);
      expect(vma.mapCalls).toBe(5);
      const map = (await dmabuf.vmapUnlocked()) as IosysMap;
      expect(map.isIomem).toBe(false);
      await dmabuf.vunmapUnlocked(map);
      dmabuf.put();
      proc.close(fd);
      expect(buf.released).toBe(true);
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
    // Pages went back (to the pools or the allocator).
    expect(
      heap.mem.freePages + (heap.pools?.reduce((n, p) => n + p.count * (1 << p.order), 0) ?? 0),
    ).toBe(free0.pages);
  });

  it('invalid flags and lengths are refused before exporting', async () => {
    const k = checkedKernel();
    const got: (number | string)[] = [];
    k.kthreadRun('t', () => {
      got.push(dmaHeapBufferAlloc(k, 0) as number);
      got.push(dmaHeapBufferAlloc(k, 4096, 0o100) as number);
      const d = dmaHeapBufferAlloc(k, 4096);
      got.push(typeof d === 'number' ? d : d.expName);
      if (typeof d !== 'number') d.put();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(got).toEqual([-22, -22, systemHeapOf(k).name]);
  });
});
