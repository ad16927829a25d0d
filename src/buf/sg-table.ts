import { Errno, GFP_KERNEL } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import {
  DMA_ATTR_MMIO,
  PAGE_SIZE,
  PCI_P2PDMA_MAP_BUS_ADDR,
  PCI_P2PDMA_MAP_NONE,
  PCI_P2PDMA_MAP_THRU_HOST_BRIDGE,
  dmaGetMaxSegSize,
  dmaGetSegBoundary,
  newP2pdmaMapState,
  pagesHaveSamePgmap,
  pciP2pdmaState,
} from '../pci/index.ts';
import type { DmaDataDirection, Device, Page } from '../pci/index.ts';
import { allocFails } from './heaps/gfp.ts';

/** `UINT_MAX`: the largest `sg->length` / `sg_dma_len`. */
export const UINT_MAX = 0xffff_ffff;

/** `sg_dma_mark_bus_address`: the entry holds a PCI bus address (P2P through a switch), not a mapped IOVA. */
export const SG_DMA_BUS_ADDRESS = 1 << 0;

/** `DMA_MAPPING_ERROR` as `sg_dma_address` of unused DMA entries after mapping. */
const DMA_ADDR_UNUSED = -1;

/**
 * `struct scatterlist`: the CPU side (page, offset, length) and the DMA side
 * (address, length, flags) of one entry. DMA-only tables (MMIO exporters)
 * have `page` null.
 *
 * @kernel struct scatterlist, sg_page, sg_dma_address, sg_dma_len, sg_dma_is_bus_address
 */
export interface Scatterlist {
  page: Page | null;
  offset: number;
  length: number;
  dmaAddress: number;
  dmaLength: number;
  dmaFlags: number;
}

/** How a table is currently DMA-mapped (what `dma_unmap_sgtable` needs to undo). */
export interface SgDmaMapping {
  readonly dev: Device;
  readonly dir: DmaDataDirection;
  /** IOVA range allocated for the table (0/0 for dma-direct or only bus addresses). */
  readonly iova: number;
  readonly iovaLen: number;
}

/**
 * `struct sg_table`: `orig_nents` CPU entries, of which the first `nents`
 * carry the DMA mapping (an IOMMU may merge entries, so `nents <=
 * origNents`). DMA-only tables have `origNents` 0.
 *
 * @kernel struct sg_table (include/linux/scatterlist.h)
 */
export class SgTable {
  nents = 0;
  origNents = 0;
  mapping: SgDmaMapping | null = null;
  freed = false;
  /** `dma_sync_sgtable_for_cpu` / `_for_device` calls, for tests of CPU-access paths. */
  readonly syncs = { forCpu: 0, forDevice: 0 };

  constructor(readonly sgl: Scatterlist[]) {
    this.origNents = sgl.length;
    this.nents = sgl.length;
  }

  /** The CPU entries (`for_each_sgtable_sg`). */
  get entries(): readonly Scatterlist[] {
    return this.sgl.slice(0, this.origNents);
  }

  /** The DMA entries (`for_each_sgtable_dma_sg`) as plain data. */
  dmaEntries(): { dmaAddress: number; dmaLength: number; busAddress: boolean }[] {
    return this.sgl.slice(0, this.nents).map((s) => ({
      dmaAddress: s.dmaAddress,
      dmaLength: s.dmaLength,
      busAddress: (s.dmaFlags & SG_DMA_BUS_ADDRESS) !== 0,
    }));
  }
}

function emptySg(): Scatterlist {
  return { page: null, offset: 0, length: 0, dmaAddress: 0, dmaLength: 0, dmaFlags: 0 };
}

/**
 * `sg_alloc_table(table, nents, gfp)`: a table of `nents` empty entries.
 * `-EINVAL` for 0 entries; `-ENOMEM` when the kernel injects an allocation
 * failure. (The model needs no chaining: one array holds any size.)
 *
 * @kernel sg_alloc_table (lib/scatterlist.c)
 */
export function sgAllocTable(nents: number, gfp: number = GFP_KERNEL, k: Kernel | null = null): SgTable | number {
  if (nents <= 0) return -Errno.EINVAL;
  if (allocFails(k, gfp, 'sg_alloc_table')) return -Errno.ENOMEM;
  return new SgTable(Array.from({ length: nents }, emptySg));
}

/** `sg_set_page(sg, page, len, offset)`. @kernel sg_set_page */
export function sgSetPage(sg: Scatterlist, page: Page | null, len: number, offset: number): void {
  sg.page = page;
  sg.length = len;
  sg.offset = offset;
}

/** `sg_phys(sg)`: CPU physical address of the entry's data. @kernel sg_phys */
export function sgPhys(sg: Scatterlist): number {
  return (sg.page?.pfn ?? 0) * PAGE_SIZE + sg.offset;
}

/** `sg_dma_is_bus_address(sg)`. @kernel sg_dma_is_bus_address */
export function sgDmaIsBusAddress(sg: Scatterlist): boolean {
  return (sg.dmaFlags & SG_DMA_BUS_ADDRESS) !== 0;
}

/** `sg_page_count`: pages an entry touches. @kernel sg_page_count */
export function sgPageCount(sg: Scatterlist): number {
  return Math.ceil((sg.offset + sg.length) / PAGE_SIZE);
}

/** `pages_are_mergeable(a, b)`: `a` directly follows `b` and both have the same pgmap. */
function pagesAreMergeable(a: Page, b: Page): boolean {
  return a.pfn === b.pfn + 1 && pagesHaveSamePgmap(a, b);
}

/**
 * `sg_alloc_table_from_pages_segment(pages, offset, size, max_segment)`:
 * squash runs of physically contiguous pages (same pgmap) into one entry,
 * at most `maxSegment` bytes (aligned down to a page) each. The first entry
 * starts at `offset` into its first page; the last is cut to `size`.
 * `sg_alloc_table_from_pages` is this with `UINT_MAX`.
 *
 * @kernel sg_alloc_table_from_pages_segment, sg_alloc_append_table_from_pages
 */
export function sgAllocTableFromPages(
  pages: readonly Page[],
  offset: number,
  size: number,
  maxSegment: number = UINT_MAX,
  gfp: number = GFP_KERNEL,
  k: Kernel | null = null,
): SgTable | number {
  const maxSeg = Math.floor(maxSegment / PAGE_SIZE) * PAGE_SIZE;
  if (maxSeg < PAGE_SIZE) {
    k?.splat({ rule: 'sg.bad_max_segment', severity: 'warn', headline: 'WARNING: max_segment < PAGE_SIZE in sg_alloc_append_table_from_pages' });
    return -Errno.EINVAL;
  }
  const n = pages.length;
  if (n === 0) return -Errno.EINVAL;
  if (allocFails(k, gfp, 'sg_alloc_table_from_pages')) return -Errno.ENOMEM;
  const sgl: Scatterlist[] = [];
  let cur = 0;
  let off = offset;
  let left = size;
  while (cur < n) {
    let j = cur + 1;
    let segLen = 0;
    for (; j < n; j++) {
      segLen += PAGE_SIZE;
      if (segLen >= maxSeg || !pagesAreMergeable(pages[j]!, pages[j - 1]!)) break;
    }
    const chunk = (j - cur) * PAGE_SIZE - off;
    const sg = emptySg();
    sgSetPage(sg, pages[cur]!, Math.min(left, chunk), off);
    sgl.push(sg);
    left -= chunk;
    off = 0;
    cur = j;
  }
  return new SgTable(sgl);
}

/**
 * `dup_sg_table` of the system heap: a new table with the same CPU entries,
 * no DMA state (each attachment maps its own copy).
 *
 * @kernel dup_sg_table (drivers/dma-buf/heaps/system_heap.c)
 */
export function dupSgTable(from: SgTable, gfp: number = GFP_KERNEL, k: Kernel | null = null): SgTable | number {
  const to = sgAllocTable(from.origNents, gfp, k);
  if (typeof to === 'number') return to;
  from.entries.forEach((s, i) => { sgSetPage(to.sgl[i]!, s.page, s.length, s.offset); });
  return to;
}

/** `sg_free_table`: the table must not be used afterwards. @kernel sg_free_table */
export function sgFreeTable(sgt: SgTable): void {
  sgt.freed = true;
}

/**
 * `for_each_sgtable_page(sgt, piter, pgoffset)`: the PFN of every page the
 * CPU entries cover, starting `pgoffset` pages in.
 *
 * @kernel for_each_sgtable_page, __sg_page_iter_next
 */
export function* sgtablePages(sgt: SgTable, pgoffset = 0): Generator<number> {
  let skip = pgoffset;
  for (const sg of sgt.entries) {
    const count = sgPageCount(sg);
    if (skip >= count) {
      skip -= count;
      continue;
    }
    const first = sg.page!.pfn;
    for (let i = skip; i < count; i++) yield first + i;
    skip = 0;
  }
}

function resetDma(sgt: SgTable): void {
  for (const s of sgt.sgl) {
    s.dmaAddress = DMA_ADDR_UNUSED;
    s.dmaLength = 0;
    s.dmaFlags = 0;
  }
}

/**
 * `dma_map_sgtable(dev, sgt, dir, attrs)`: fill the DMA side. P2P pages are
 * classified against `dev` (`pci_p2pdma_state`): BUS_ADDR entries get
 * physical + bus offset and the bus-address mark and bypass any IOMMU;
 * THRU_HOST_BRIDGE entries are mapped like RAM but as MMIO; NOT_SUPPORTED
 * fails the whole mapping with `-EREMOTEIO`. dma-direct: one DMA entry per
 * CPU entry at physical + DMA offset. IOMMU DMA domain: one IOVA range for
 * all non-bus entries, then entries that are IOVA-contiguous, start on a
 * page boundary and fit the device's max segment size (without crossing its
 * segment boundary) merge into one DMA entry, as `__finalise_sg` does.
 * Returns 0 or a negative errno; `sgt.nents` is the DMA entry count.
 * Difference: the model does not pad segments to the boundary mask, and
 * refuses (`-EINVAL`) to map a table that is already mapped or DMA-only.
 *
 * @kernel dma_map_sgtable, dma_direct_map_sg (kernel/dma/direct.c), iommu_dma_map_sg, __finalise_sg (drivers/iommu/dma-iommu.c)
 */
export function dmaMapSgtable(dev: Device, sgt: SgTable, dir: DmaDataDirection, attrs = 0): number {
  if (sgt.mapping || sgt.origNents === 0 || sgt.freed) return -Errno.EINVAL;
  const dom = dev.dma.iommu;
  const state = newP2pdmaMapState();
  const types: number[] = [];
  for (const s of sgt.entries) {
    const t = pciP2pdmaState(state, dev, s.page);
    if (t !== PCI_P2PDMA_MAP_NONE && t !== PCI_P2PDMA_MAP_BUS_ADDR && t !== PCI_P2PDMA_MAP_THRU_HOST_BRIDGE) {
      resetDma(sgt);
      return -Errno.EREMOTEIO;
    }
    types.push(t);
  }
  resetDma(sgt);
  const entries = sgt.entries;
  if (!dom || dom.type === 'identity') {
    entries.forEach((s, i) => {
      const bus = types[i] === PCI_P2PDMA_MAP_BUS_ADDR;
      s.dmaAddress = sgPhys(s) + (bus ? s.page!.pgmap!.provider.busOffset : dev.dma.dmaOffset);
      s.dmaLength = s.length;
      s.dmaFlags = bus ? SG_DMA_BUS_ADDRESS : 0;
    });
    sgt.nents = entries.length;
    sgt.mapping = { dev, dir, iova: 0, iovaLen: 0 };
    return 0;
  }
  // iommu_dma_map_sg: lay the non-bus segments out in one IOVA range.
  const segs = entries.map((s, i) => {
    const iovaOff = s.offset % PAGE_SIZE;
    const bus = types[i] === PCI_P2PDMA_MAP_BUS_ADDR;
    return { s, bus, mmio: types[i] === PCI_P2PDMA_MAP_THRU_HOST_BRIDGE, iovaOff, iovaLen: bus ? 0 : Math.ceil((s.length + iovaOff) / PAGE_SIZE) * PAGE_SIZE };
  });
  const iovaLen = segs.reduce((a, g) => a + g.iovaLen, 0);
  let iova = 0;
  if (iovaLen) {
    iova = dom.allocIova(iovaLen);
    if (!iova) return -Errno.ENOMEM;
    let at = iova;
    for (const g of segs) {
      if (g.bus) continue;
      dom.map(at, sgPhys(g.s) - g.iovaOff, g.iovaLen, g.mmio || (attrs & DMA_ATTR_MMIO) !== 0);
      at += g.iovaLen;
    }
  }
  // __finalise_sg: write the (possibly merged) DMA entries from the front.
  const maxLen = dmaGetMaxSegSize(dev);
  const segMask = dmaGetSegBoundary(dev);
  let count = 0;
  let curLen = 0;
  let dmaAddr = iova;
  let cur: Scatterlist | null = null;
  for (const g of segs) {
    if (g.bus) {
      cur = sgt.sgl[count++]!;
      cur.dmaAddress = sgPhys(g.s) + g.s.page!.pgmap!.provider.busOffset;
      cur.dmaLength = g.s.length;
      cur.dmaFlags = SG_DMA_BUS_ADDRESS;
      curLen = 0;
      continue;
    }
    const len = g.s.length;
    if (cur && curLen && !g.iovaOff && dmaAddr % (segMask + 1) !== 0 && maxLen - curLen >= len) {
      curLen += len;
    } else {
      cur = sgt.sgl[count++]!;
      curLen = len;
      cur.dmaAddress = dmaAddr + g.iovaOff;
      cur.dmaFlags = 0;
    }
    cur.dmaLength = curLen;
    dmaAddr += g.iovaLen;
    if (len + g.iovaOff < g.iovaLen) curLen = 0;
  }
  sgt.nents = count;
  sgt.mapping = { dev, dir, iova, iovaLen };
  return 0;
}

/**
 * `dma_unmap_sgtable(dev, sgt, dir, attrs)`: tear the DMA side down (unmap
 * and free the IOVA range under an IOMMU). Returns false, changing nothing,
 * when the table is not mapped or was mapped for another device (what
 * CONFIG_DMA_API_DEBUG reports).
 *
 * @kernel dma_unmap_sgtable, iommu_dma_unmap_sg, dma_direct_unmap_sg
 */
export function dmaUnmapSgtable(dev: Device, sgt: SgTable, _dir: DmaDataDirection, _attrs = 0): boolean {
  const m = sgt.mapping;
  if (!m || m.dev !== dev) return false;
  if (m.iovaLen && dev.dma.iommu) {
    dev.dma.iommu.unmap(m.iova, m.iovaLen);
    dev.dma.iommu.freeIova(m.iova);
  }
  sgt.mapping = null;
  return true;
}

/** `dma_sync_sgtable_for_cpu`: counted, no data moves in the model. @kernel dma_sync_sgtable_for_cpu */
export function dmaSyncSgtableForCpu(_dev: Device, sgt: SgTable, _dir: DmaDataDirection): void {
  sgt.syncs.forCpu++;
}

/** `dma_sync_sgtable_for_device`: counted. @kernel dma_sync_sgtable_for_device */
export function dmaSyncSgtableForDevice(_dev: Device, sgt: SgTable, _dir: DmaDataDirection): void {
  sgt.syncs.forDevice++;
}
