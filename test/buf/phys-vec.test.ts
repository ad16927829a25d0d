import { describe, expect, it } from 'vitest';
import { Errno, Kernel } from '../../src/kernel/index.ts';
import {
  DMA_BIDIRECTIONAL,
  Device,
  IommuDomain,
  PAGE_SIZE,
  pciResourceStart,
  pcimP2pdmaInit,
  pcimP2pdmaProvider,
} from '../../src/pci/index.ts';
import { MAX_SG_ENT_SZ, UINT_MAX, dmaBufFreeSgt, dmaBufPhysVecToSgt, fillPhysVec, physVecSize } from '../../src/buf/index.ts';
import type { PhysVec, SgTable } from '../../src/buf/index.ts';
import { FailAt } from './heap-fail-at.ts';
import { ACS_REDIR, UNLISTED, switchRig } from '../pci/fixtures.ts';

const P = PAGE_SIZE;
const BUS_OFF = 0x10_0000_0000 - 0x40_0000_0000;

function rig(opts: Parameters<typeof switchRig>[0] = {}) {
  const r = switchRig(opts);
  expect(pcimP2pdmaInit(r.a)).toBe(0);
  const provider = pcimP2pdmaProvider(r.a, 0)!;
  const base = pciResourceStart(r.a, 0);
  const ranges: PhysVec[] = [
    { paddr: base + 0x10000, len: 2 * P },
    { paddr: base + 0x40000, len: 3 * P },
  ];
  return { ...r, provider, base, ranges, size: physVecSize(ranges) };
}

function sgt(t: SgTable | number): SgTable {
  if (typeof t === 'number') throw new Error(`errno ${t}`);
  return t;
}

describe('dma_buf_phys_vec_to_sgt', () => {
  it('BUS_ADDR: one DMA-only entry per range at phys + bus offset, no IOMMU use', () => {
    const { b, provider, ranges, size } = rig();
    const dom = new IommuDomain('dma');
    b.dma.iommu = dom;
    const t = sgt(dmaBufPhysVecToSgt(b, provider, ranges, size, DMA_BIDIRECTIONAL));
    expect(t.origNents).toBe(0);
    expect(t.sgl.every((s) => s.page === null && s.length === 0)).toBe(true);
    expect(t.dmaEntries()).toEqual(ranges.map((r) => ({ dmaAddress: r.paddr + BUS_OFF, dmaLength: r.len, busAddress: false })));
    expect(dom.stats.iovaAllocs).toBe(0);
    expect(dmaBufFreeSgt(b, t, DMA_BIDIRECTIONAL)).toBe(true);
    expect(dmaBufFreeSgt(b, t, DMA_BIDIRECTIONAL)).toBe(false);
  });

  it('THRU_HOST_BRIDGE with an IOMMU: one contiguous IOVA entry over all ranges, mapped as MMIO', () => {
    const { b, provider, ranges, size } = rig({ dsAcs: [null, ACS_REDIR] });
    const dom = new IommuDomain('dma');
    b.dma.iommu = dom;
    const t = sgt(dmaBufPhysVecToSgt(b, provider, ranges, size, DMA_BIDIRECTIONAL));
    const [e] = t.dmaEntries();
    expect(t.nents).toBe(1);
    expect(e!.dmaLength).toBe(size);
    const expectPhys = [...[0, 1].map((i) => ranges[0]!.paddr + i * P), ...[0, 1, 2].map((i) => ranges[1]!.paddr + i * P)];
    expectPhys.forEach((phys, i) => { expect(dom.translate(e!.dmaAddress + i * P)).toBe(phys); });
    expect([...dom.ptes.values()].every((p) => p.mmio)).toBe(true);
    expect(dmaBufFreeSgt(b, t, DMA_BIDIRECTIONAL)).toBe(true);
    expect(dom.ptes.size).toBe(0);
    expect(dom.liveAllocations).toBe(0);
  });

  it('THRU_HOST_BRIDGE without an IOMMU: one entry per range at the physical address', () => {
    const { b, provider, ranges, size } = rig({ dsAcs: [ACS_REDIR, null] });
    const t = sgt(dmaBufPhysVecToSgt(b, provider, ranges, size, DMA_BIDIRECTIONAL));
    expect(t.dmaEntries().map((e) => [e.dmaAddress, e.dmaLength])).toEqual(ranges.map((r) => [r.paddr, r.len]));
  });

  it('NOT_SUPPORTED or no provider: -EINVAL (the missing provider is a WARN)', () => {
    const { b, provider, ranges, size } = rig({ dsAcs: [ACS_REDIR, null], host: UNLISTED });
    expect(dmaBufPhysVecToSgt(b, provider, ranges, size, DMA_BIDIRECTIONAL)).toBe(-Errno.EINVAL);
    expect(dmaBufPhysVecToSgt(new Device('npu'), provider, ranges, size, DMA_BIDIRECTIONAL)).toBe(-Errno.EINVAL);
    const k = new Kernel();
    expect(dmaBufPhysVecToSgt(b, null, ranges, size, DMA_BIDIRECTIONAL, { kernel: k })).toBe(-Errno.EINVAL);
    expect(k.splats.map((s) => s.rule)).toEqual(['dmabuf.phys_vec_no_provider']);
  });

  it('splits a range larger than the max entry into page-aligned entries (or at UINT_MAX on request)', () => {
    const { b, provider, base } = rig();
    const big: PhysVec[] = [{ paddr: base, len: 10 * 2 ** 30 }];
    const t = sgt(dmaBufPhysVecToSgt(b, provider, big, big[0]!.len, DMA_BIDIRECTIONAL));
    expect(t.dmaEntries().map((e) => e.dmaLength)).toEqual([MAX_SG_ENT_SZ, MAX_SG_ENT_SZ, 10 * 2 ** 30 - 2 * MAX_SG_ENT_SZ]);
    expect(t.dmaEntries().every((e) => e.dmaAddress % P === 0)).toBe(true);
    const u = sgt(dmaBufPhysVecToSgt(b, provider, big, big[0]!.len, DMA_BIDIRECTIONAL, { maxEntrySize: UINT_MAX }));
    expect(u.dmaEntries().map((e) => e.dmaAddress - base - BUS_OFF)).toEqual([0, UINT_MAX, 2 * UINT_MAX]);
  });

  it('splits the single IOVA entry only at the max entry size', () => {
    const { b, provider, ranges, size } = rig({ dsAcs: [ACS_REDIR, null] });
    b.dma.iommu = new IommuDomain('dma');
    const t = sgt(dmaBufPhysVecToSgt(b, provider, ranges, size, DMA_BIDIRECTIONAL, { maxEntrySize: 2 * P }));
    const es = t.dmaEntries();
    expect(es.map((e) => e.dmaLength)).toEqual([2 * P, 2 * P, P]);
    expect(es.map((e) => e.dmaAddress - es[0]!.dmaAddress)).toEqual([0, 2 * P, 4 * P]);
  });

  it('gives back every mapping when the table allocation fails', () => {
    const { b, provider, ranges, size } = rig({ dsAcs: [ACS_REDIR, null] });
    const dom = new IommuDomain('dma');
    b.dma.iommu = dom;
    const chooser = new FailAt(['sg_alloc_table']);
    const k = new Kernel({ chooser });
    expect(dmaBufPhysVecToSgt(b, provider, ranges, size, DMA_BIDIRECTIONAL, { kernel: k })).toBe(-Errno.ENOMEM);
    expect(chooser.injected).toEqual(['sg_alloc_table']);
    expect(dom.stats.iovaAllocs).toBe(1);
    expect(dom.liveAllocations).toBe(0);
  });
});

describe('fillPhysVec (BAR slices to physical ranges)', () => {
  it('converts offsets and validates each slice', () => {
    expect(fillPhysVec([{ offset: 0x1000, length: 0x2000 }], 0x9000_0000, 0x10000)).toEqual([{ paddr: 0x9000_1000, len: 0x2000 }]);
    expect(fillPhysVec([{ offset: 0, length: 0 }], 0, 0x10000)).toBe(-Errno.EINVAL);
    expect(fillPhysVec([{ offset: 0xf000, length: 0x2000 }], 0, 0x10000)).toBe(-Errno.EINVAL);
    expect(fillPhysVec([{ offset: 2 ** 53, length: 2 ** 53 }], 0, 0x10000)).toBe(-Errno.EOVERFLOW);
  });
});
