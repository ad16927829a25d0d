import { Errno } from '../kernel/index.ts';
import { PAGE_SIZE } from './memory.ts';

/** `IOMMU_DOMAIN_IDENTITY` (passthrough: IOVA = physical) or `IOMMU_DOMAIN_DMA` (translated). */
export type IommuDomainType = 'identity' | 'dma';

/** One translated page: IOVA page → physical page, and whether it maps MMIO. */
export interface IommuPte {
  readonly pfn: number;
  readonly mmio: boolean;
}

/** `IOVA_RANGE_CACHE_MAX_SIZE`: allocations below 2^(this-1) pages are rounded up to a power of two. */
const IOVA_RANGE_CACHE_MAX_SIZE = 6;

function roundupPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * An IOMMU domain with a simple IOVA allocator. Identity domains translate
 * nothing (the DMA API then behaves as dma-direct). DMA domains hand out
 * IOVA top-down below `limit`, trying the 32-bit space first as iommu-dma
 * does for PCI devices, size-aligned as `alloc_iova_fast` is; small sizes
 * are rounded up to a power of two (the rcache rule). Mappings are kept per
 * page so tests can translate any DMA address back to a physical one.
 * Differences: one domain per device (no groups), no flush queue, no
 * per-CPU caches; the allocator searches a sorted list.
 *
 * @kernel struct iommu_domain, iommu_dma_alloc_iova, alloc_iova_fast (drivers/iommu/dma-iommu.c, iova.c)
 */
export class IommuDomain {
  readonly ptes = new Map<number, IommuPte>();
  /** Allocated IOVA ranges in pages, sorted by start. */
  private readonly allocated: { start: number; pages: number }[] = [];
  /** Counters for tests: `map`/`unmap` calls and IOVA allocations. */
  readonly stats = { maps: 0, unmaps: 0, iovaAllocs: 0, iovaFrees: 0 };

  constructor(
    readonly type: IommuDomainType = 'dma',
    /** Highest usable IOVA + 1 (the device's DMA mask; default 48-bit). */
    readonly limit: number = 2 ** 48,
    /** Lowest usable IOVA (`start_pfn`; page 0 is never handed out). */
    readonly base: number = PAGE_SIZE,
  ) {}

  /** Number of IOVA ranges currently allocated (0 after every mapping was torn down). */
  get liveAllocations(): number {
    return this.allocated.length;
  }

  /**
   * `iommu_dma_alloc_iova`: `size` bytes (page-rounded) of IOVA, or 0 when
   * the space is exhausted. Tries below 4 GiB first (the SAC rule).
   */
  allocIova(size: number): number {
    let pages = Math.ceil(size / PAGE_SIZE);
    if (pages === 0) return 0;
    if (pages < 1 << (IOVA_RANGE_CACHE_MAX_SIZE - 1)) pages = roundupPow2(pages);
    const align = roundupPow2(pages);
    const limitPfn = Math.floor(this.limit / PAGE_SIZE);
    const sacPfn = Math.floor(2 ** 32 / PAGE_SIZE);
    let pfn = limitPfn > sacPfn ? this.topDown(pages, align, sacPfn) : -1;
    if (pfn < 0) pfn = this.topDown(pages, align, limitPfn);
    if (pfn < 0) return 0;
    const at = this.allocated.findIndex((r) => r.start > pfn);
    this.allocated.splice(at < 0 ? this.allocated.length : at, 0, { start: pfn, pages });
    this.stats.iovaAllocs++;
    return pfn * PAGE_SIZE;
  }

  private topDown(pages: number, align: number, limitPfn: number): number {
    const startPfn = Math.ceil(this.base / PAGE_SIZE);
    let hi = limitPfn;
    for (let i = this.allocated.length - 1; i >= 0; i--) {
      const r = this.allocated[i]!;
      if (r.start >= hi) continue;
      const end = r.start + r.pages;
      const cand = Math.floor((hi - pages) / align) * align;
      if (end <= hi && cand >= end) return cand >= startPfn ? cand : -1;
      hi = Math.min(hi, r.start);
    }
    const cand = Math.floor((hi - pages) / align) * align;
    return cand >= startPfn ? cand : -1;
  }

  /** `free_iova_fast`: give back the range starting at `iova`. Returns false if no such range. */
  freeIova(iova: number): boolean {
    const pfn = Math.floor(iova / PAGE_SIZE);
    const i = this.allocated.findIndex((r) => r.start === pfn);
    if (i < 0) return false;
    this.allocated.splice(i, 1);
    this.stats.iovaFrees++;
    return true;
  }

  /** `iommu_map`: map `size` bytes (page multiples) at `iova` to `phys`. `-EEXIST` over an existing mapping. */
  map(iova: number, phys: number, size: number, mmio: boolean): number {
    const n = Math.ceil(size / PAGE_SIZE);
    const v = Math.floor(iova / PAGE_SIZE);
    const p = Math.floor(phys / PAGE_SIZE);
    for (let i = 0; i < n; i++) if (this.ptes.has(v + i)) return -Errno.EEXIST;
    for (let i = 0; i < n; i++) this.ptes.set(v + i, { pfn: p + i, mmio });
    this.stats.maps++;
    return 0;
  }

  /** `iommu_unmap`: returns the bytes that were mapped. */
  unmap(iova: number, size: number): number {
    const n = Math.ceil(size / PAGE_SIZE);
    const v = Math.floor(iova / PAGE_SIZE);
    let done = 0;
    for (let i = 0; i < n; i++) if (this.ptes.delete(v + i)) done += PAGE_SIZE;
    this.stats.unmaps++;
    return done;
  }

  /** `iommu_iova_to_phys`: the physical address a DMA to `iova` reaches, or null (an IOMMU fault). */
  translate(iova: number): number | null {
    if (this.type === 'identity') return iova;
    const pte = this.ptes.get(Math.floor(iova / PAGE_SIZE));
    return pte ? pte.pfn * PAGE_SIZE + (iova % PAGE_SIZE) : null;
  }
}
