import { describe, expect, it } from 'vitest';
import { Errno, Kernel } from '../../src/kernel/index.ts';
import {
  DMA_BIDIRECTIONAL,
  Device,
  IommuDomain,
  PAGE_SIZE,
  pciAllocP2pmem,
  pciP2pdmaAddResource,
  p2pmemPages,
  pfnToPage,
} from '../../src/pci/index.ts';
import type { Page } from '../../src/pci/index.ts';
import {
  SG_DMA_BUS_ADDRESS,
  UINT_MAX,
  dmaMapSgtable,
  dmaUnmapSgtable,
  sgAllocTable,
  sgAllocTableFromPages,
  sgPhys,
  sgtablePages,
} from '../../src/buf/index.ts';
import type { SgTable } from '../../src/buf/index.ts';
import { ACS_REDIR, UNLISTED, switchRig } from '../pci/fixtures.ts';

const P = PAGE_SIZE;
const pages = (...pfns: number[]): Page[] => pfns.map(pfnToPage);

function table(t: SgTable | number): SgTable {
  if (typeof t === 'number') throw new Error(`errno ${t}`);
  return t;
}

describe('sg_alloc_table_from_pages', () => {
  it('merges physically contiguous pages into one entry each run', () => {
    const t = table(sgAllocTableFromPages(pages(10, 11, 12, 20, 21, 30), 0, 6 * P));
    expect(t.entries.map((s) => [s.page!.pfn, s.offset, s.length])).toEqual([
      [10, 0, 3 * P],
      [20, 0, 2 * P],
      [30, 0, P],
    ]);
    expect(t.origNents).toBe(3);
    expect([...sgtablePages(t)]).toEqual([10, 11, 12, 20, 21, 30]);
    expect([...sgtablePages(t, 4)]).toEqual([21, 30]);
  });

  it('applies the first-page offset and cuts the last entry to size', () => {
    const t = table(sgAllocTableFromPages(pages(10, 11, 20, 21), 100, 3 * P));
    expect(t.entries.map((s) => [s.offset, s.length])).toEqual([
      [100, 2 * P - 100],
      [0, P + 100],
    ]);
    expect(sgPhys(t.entries[0]!)).toBe(10 * P + 100);
  });

  it('splits runs at max_segment, aligned down to a page', () => {
    const run = pages(...Array.from({ length: 8 }, (_, i) => 100 + i));
    const lengths = (maxSeg: number) => table(sgAllocTableFromPages(run, 0, 8 * P, maxSeg)).entries.map((s) => s.length / P);
    expect(lengths(3 * P)).toEqual([3, 3, 2]);
    expect(lengths(3 * P + 2000)).toEqual([3, 3, 2]);
    expect(lengths(UINT_MAX)).toEqual([8]);
    expect(sgAllocTableFromPages(run, 0, 8 * P, P - 1)).toBe(-Errno.EINVAL);
  });

  it('never merges RAM with P2P pages, even at consecutive PFNs', () => {
    const { a } = switchRig();
    expect(pciP2pdmaAddResource(a, 0, 0x10000)).toBe(0);
    const p2p = p2pmemPages(pciAllocP2pmem(a, 2 * P)!);
    const ram = pfnToPage(p2p[0]!.pfn - 1);
    const t = table(sgAllocTableFromPages([ram, ...p2p], 0, 3 * P));
    expect(t.entries.map((s) => s.length / P)).toEqual([1, 2]);
  });

  it('fails with -ENOMEM when the kernel injects an allocation failure', () => {
    const k = new Kernel({ faults: { alloc: 1 } });
    expect(sgAllocTable(4, undefined, k)).toBe(-Errno.ENOMEM);
    expect(sgAllocTableFromPages(pages(1, 2), 0, 2 * P, UINT_MAX, undefined, k)).toBe(-Errno.ENOMEM);
    expect(sgAllocTable(0)).toBe(-Errno.EINVAL);
  });
});

describe('dma_map_sgtable', () => {
  const chunky = () => table(sgAllocTableFromPages(pages(0x100, 0x101, 0x200, 0x300, 0x301, 0x302), 0, 6 * P));

  it('dma-direct: one DMA entry per CPU entry at phys + dma offset', () => {
    const dev = new Device('dev', null, { dmaOffset: 0x1000_0000 });
    const t = chunky();
    expect(dmaMapSgtable(dev, t, DMA_BIDIRECTIONAL)).toBe(0);
    expect(t.dmaEntries()).toEqual([
      { dmaAddress: 0x100 * P + 0x1000_0000, dmaLength: 2 * P, busAddress: false },
      { dmaAddress: 0x200 * P + 0x1000_0000, dmaLength: P, busAddress: false },
      { dmaAddress: 0x300 * P + 0x1000_0000, dmaLength: 3 * P, busAddress: false },
    ]);
    expect(dmaMapSgtable(dev, t, DMA_BIDIRECTIONAL)).toBe(-Errno.EINVAL);
    expect(dmaUnmapSgtable(new Device('other'), t, DMA_BIDIRECTIONAL)).toBe(false);
    expect(dmaUnmapSgtable(dev, t, DMA_BIDIRECTIONAL)).toBe(true);
    expect(dmaUnmapSgtable(dev, t, DMA_BIDIRECTIONAL)).toBe(false);
  });

  it('IOMMU: one IOVA range, entries merged up to the max segment size, all translated back', () => {
    const dom = new IommuDomain('dma');
    const small = new Device('small', null, { iommu: dom, maxSegmentSize: 2 * P });
    const t1 = chunky();
    expect(dmaMapSgtable(small, t1, DMA_BIDIRECTIONAL)).toBe(0);
    expect(t1.dmaEntries().map((e) => e.dmaLength / P)).toEqual([2, 1, 3]);
    expect(dmaUnmapSgtable(small, t1, DMA_BIDIRECTIONAL)).toBe(true);

    const big = new Device('big', null, { iommu: dom, maxSegmentSize: 1 << 20 });
    const t = chunky();
    expect(dmaMapSgtable(big, t, DMA_BIDIRECTIONAL)).toBe(0);
    expect(t.nents).toBe(1);
    const [e] = t.dmaEntries();
    expect(e!.dmaLength).toBe(6 * P);
    expect(e!.dmaAddress).toBeLessThan(2 ** 32);
    const expected = [...sgtablePages(t)];
    for (let i = 0; i < 6; i++) expect(dom.translate(e!.dmaAddress + i * P + 8)).toBe(expected[i]! * P + 8);
    expect(dmaUnmapSgtable(big, t, DMA_BIDIRECTIONAL)).toBe(true);
    expect(dom.ptes.size).toBe(0);
    expect(dom.liveAllocations).toBe(0);
  });

  it('IOMMU: an entry with an in-page offset starts a new DMA segment', () => {
    const dev = new Device('d', null, { iommu: new IommuDomain('dma'), maxSegmentSize: 1 << 20 });
    const t = table(sgAllocTable(2));
    t.sgl[0]!.page = pfnToPage(0x10);
    t.sgl[0]!.length = P;
    t.sgl[1]!.page = pfnToPage(0x20);
    t.sgl[1]!.offset = 512;
    t.sgl[1]!.length = 1024;
    expect(dmaMapSgtable(dev, t, DMA_BIDIRECTIONAL)).toBe(0);
    const es = t.dmaEntries();
    expect(es.map((e) => e.dmaLength)).toEqual([P, 1024]);
    expect(es[1]!.dmaAddress).toBe(es[0]!.dmaAddress + P + 512);
    expect(dev.dma.iommu!.translate(es[1]!.dmaAddress)).toBe(0x20 * P + 512);
  });
});

describe('dma_map_sgtable of peer-to-peer pages', () => {
  function p2pRig(opts: Parameters<typeof switchRig>[0] = {}) {
    const r = switchRig(opts);
    expect(pciP2pdmaAddResource(r.a, 0)).toBe(0);
    const mem = pciAllocP2pmem(r.a, 4 * P)!;
    const t = table(sgAllocTableFromPages([pfnToPage(0x500), ...p2pmemPages(mem)], 0, 5 * P));
    return { ...r, mem, t };
  }

  it('BUS_ADDR: bus address (phys + bus offset), marked, and never through the IOMMU', () => {
    const { b, mem, t } = p2pRig();
    b.dma.iommu = new IommuDomain('dma');
    b.dma.maxSegmentSize = 1 << 20;
    expect(dmaMapSgtable(b, t, DMA_BIDIRECTIONAL)).toBe(0);
    const [ram, peer] = t.dmaEntries();
    expect(peer).toEqual({ dmaAddress: mem.phys + (0x10_0000_0000 - 0x40_0000_0000), dmaLength: 4 * P, busAddress: true });
    expect(t.sgl[1]!.dmaFlags & SG_DMA_BUS_ADDRESS).toBe(SG_DMA_BUS_ADDRESS);
    expect(ram!.busAddress).toBe(false);
    expect(b.dma.iommu.ptes.size).toBe(1);
    expect(b.dma.iommu.translate(peer!.dmaAddress)).toBeNull();
    dmaUnmapSgtable(b, t, DMA_BIDIRECTIONAL);
    expect(b.dma.iommu.ptes.size).toBe(0);
  });

  it('THRU_HOST_BRIDGE: the normal mapping (IOVA as MMIO with an IOMMU, physical without)', () => {
    const { b, mem, t } = p2pRig({ dsAcs: [ACS_REDIR, null] });
    expect(dmaMapSgtable(b, t, DMA_BIDIRECTIONAL)).toBe(0);
    expect(t.dmaEntries()[1]).toEqual({ dmaAddress: mem.phys, dmaLength: 4 * P, busAddress: false });
    dmaUnmapSgtable(b, t, DMA_BIDIRECTIONAL);

    const r2 = p2pRig({ dsAcs: [ACS_REDIR, null] });
    const dom = new IommuDomain('dma');
    r2.b.dma.iommu = dom;
    expect(dmaMapSgtable(r2.b, r2.t, DMA_BIDIRECTIONAL)).toBe(0);
    // RAM and peer MMIO share one IOVA range, so they merge into one DMA segment.
    const [seg] = r2.t.dmaEntries();
    expect(r2.t.nents).toBe(1);
    expect(seg).toEqual({ dmaAddress: seg!.dmaAddress, dmaLength: 5 * P, busAddress: false });
    expect(dom.translate(seg!.dmaAddress)).toBe(0x500 * P);
    expect(dom.translate(seg!.dmaAddress + P)).toBe(r2.mem.phys);
    expect(dom.ptes.get(seg!.dmaAddress / P)?.mmio).toBe(false);
    expect(dom.ptes.get(seg!.dmaAddress / P + 1)?.mmio).toBe(true);
  });

  it('NOT_SUPPORTED: -EREMOTEIO and nothing stays mapped', () => {
    const { b, t } = p2pRig({ dsAcs: [ACS_REDIR, null], host: UNLISTED });
    const dom = new IommuDomain('dma');
    b.dma.iommu = dom;
    expect(dmaMapSgtable(b, t, DMA_BIDIRECTIONAL)).toBe(-Errno.EREMOTEIO);
    expect(t.mapping).toBeNull();
    expect(dom.liveAllocations).toBe(0);
  });

  it('a client that is not a PCI device cannot map P2P pages', () => {
    const { t } = p2pRig();
    expect(dmaMapSgtable(new Device('npu'), t, DMA_BIDIRECTIONAL)).toBe(-Errno.EREMOTEIO);
  });
});
