import { Errno, GFP_KERNEL, __GFP_ZERO } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import {
  DMA_ATTR_MMIO,
  PAGE_SIZE,
  PCI_P2PDMA_MAP_BUS_ADDR,
  PCI_P2PDMA_MAP_THRU_HOST_BRIDGE,
  dmaIovaDestroy,
  dmaIovaLink,
  dmaIovaSync,
  dmaIovaTryAlloc,
  dmaMapPhys,
  dmaMappingError,
  dmaUnmapPhys,
  dmaUseIova,
  newDmaIovaState,
  pciP2pdmaBusAddrMap,
  pciP2pdmaMapType,
} from '../pci/index.ts';
import type { DmaDataDirection, DmaIovaState, Device, P2pdmaProvider } from '../pci/index.ts';
import { allocFails } from './heaps/gfp.ts';
import { SgTable, UINT_MAX, sgAllocTable, sgFreeTable } from './sg-table.ts';

/**
 * `struct phys_vec`: one CPU physical range. MMIO exporters describe a
 * dma-buf as a list of these plus the `p2pdma_provider` they belong to.
 *
 * @kernel struct phys_vec (include/linux/types.h in v6.19; dma_buf_phys_vec earlier)
 */
export interface PhysVec {
  readonly paddr: number;
  readonly len: number;
}

/** A physical address list with the provider its ranges belong to (the "phys list" mapping result). */
export interface PhysVecList {
  readonly provider: P2pdmaProvider;
  readonly ranges: readonly PhysVec[];
}

/**
 * Total length of a list.
 *
 * @kernel none: the sum over a struct phys_vec array that callers open-code
 */
export function physVecSize(ranges: readonly PhysVec[]): number {
  return ranges.reduce((a, r) => a + r.len, 0);
}

/**
 * The largest sg entry the phys_vec helper produces. The seed notes give
 * `UINT_MAX` rounded down to a page (keeps every entry page aligned, as the
 * helper documents); the code merged for v6.19 splits at `UINT_MAX` itself,
 * and a follow-up proposes 2 GiB. The default follows the notes; pass
 * `maxEntrySize: UINT_MAX` to get the merged behaviour.
 */
export const MAX_SG_ENT_SZ = Math.floor(UINT_MAX / PAGE_SIZE) * PAGE_SIZE;

/** Options of `dmaBufPhysVecToSgt`. */
export interface PhysVecToSgtOptions {
  /** Split entries at this size (default `MAX_SG_ENT_SZ`). */
  readonly maxEntrySize?: number;
  /** Kernel for allocation fault injection and WARN splats. */
  readonly kernel?: Kernel | null;
}

/** What `dmaBufFreeSgt` must undo (`struct dma_buf_dma`). */
interface DmaBufDma {
  readonly dev: Device;
  readonly state: DmaIovaState | null;
  readonly size: number;
}

const dmaOf = new WeakMap<SgTable, DmaBufDma>();

function fillSgEntries(sgt: SgTable, at: number, length: number, addr: number, max: number): number {
  const n = Math.ceil(length / max);
  for (let i = 0; i < n; i++) {
    const s = sgt.sgl[at + i]!;
    const len = Math.min(length, max);
    length -= len;
    // DMA-only table: no CPU side, so importers cannot touch the pages.
    s.page = null;
    s.offset = 0;
    s.length = 0;
    s.dmaAddress = addr + i * max;
    s.dmaLength = len;
    s.dmaFlags = 0;
  }
  return at + n;
}

/**
 * `dma_buf_phys_vec_to_sgt(attach, provider, phys_vec, nr_ranges, size, dir)`
 * for the importing device `dev` (`attach->dev`): a DMA-only sg table
 * (pages null, `origNents` 0) for MMIO ranges. The route comes from
 * `pci_p2pdma_map_type(provider, dev)`: BUS_ADDR gives physical + bus offset
 * with no IOMMU involvement, one entry per range (split at the max entry
 * size); THRU_HOST_BRIDGE tries one contiguous IOVA range and links every
 * range into it with `DMA_ATTR_MMIO` (one entry spanning `size`, split only
 * at the max entry size), or without IOVA maps each range with
 * `dma_map_phys`; anything else is `-EINVAL`. A null provider is a WARN and
 * `-EINVAL`. The resv-lock assertion belongs to the caller (the dma_buf
 * layer); errors unwind every mapping made so far.
 *
 * @kernel dma_buf_phys_vec_to_sgt (drivers/dma-buf/dma-buf-mapping.c)
 */
export function dmaBufPhysVecToSgt(
  dev: Device,
  provider: P2pdmaProvider | null,
  physVec: readonly PhysVec[],
  size: number,
  dir: DmaDataDirection,
  opts: PhysVecToSgtOptions = {},
): SgTable | number {
  const k = opts.kernel ?? null;
  const max = opts.maxEntrySize ?? MAX_SG_ENT_SZ;
  if (!provider) {
    k?.splat({ rule: 'dmabuf.phys_vec_no_provider', severity: 'warn', headline: 'WARNING: dma_buf_phys_vec_to_sgt() without a p2pdma provider' });
    return -Errno.EINVAL;
  }
  if (allocFails(k, GFP_KERNEL, 'dma_buf_phys_vec_to_sgt:dma')) return -Errno.ENOMEM;
  let state: DmaIovaState | null = null;
  const route = pciP2pdmaMapType(provider, dev);
  if (route === PCI_P2PDMA_MAP_THRU_HOST_BRIDGE) {
    if (allocFails(k, GFP_KERNEL, 'dma_buf_phys_vec_to_sgt:state')) return -Errno.ENOMEM;
    state = newDmaIovaState();
    dmaIovaTryAlloc(dev, state, 0, size);
  } else if (route !== PCI_P2PDMA_MAP_BUS_ADDR) {
    return -Errno.EINVAL;
  }
  const useIova = dmaUseIova(state);
  const nents = useIova ? Math.ceil(size / max) : physVec.reduce((a, r) => a + Math.ceil(r.len / max), 0);
  const sgt = sgAllocTable(nents, GFP_KERNEL | __GFP_ZERO, k);
  if (typeof sgt === 'number') {
    // The v6.19 code only frees the state here; the model also gives the IOVA range back.
    if (state && useIova) dmaIovaDestroy(dev, state, 0, dir, DMA_ATTR_MMIO);
    return sgt;
  }
  const attrs = provider.dmaMappingFlags;
  let at = 0;
  let mappedLen = 0;
  for (let i = 0; i < physVec.length; i++) {
    const r = physVec[i]!;
    let addr = 0;
    if (!state) {
      addr = pciP2pdmaBusAddrMap(provider, r.paddr);
    } else if (useIova) {
      const ret = dmaIovaLink(dev, state, r.paddr, mappedLen, r.len, dir, attrs);
      if (ret) return unwind(dev, sgt, state, at, mappedLen, dir, ret);
      mappedLen += r.len;
    } else {
      addr = dmaMapPhys(dev, r.paddr, r.len, dir, attrs);
      const ret = dmaMappingError(dev, addr);
      if (ret) return unwind(dev, sgt, state, at, mappedLen, dir, ret);
    }
    if (!useIova) at = fillSgEntries(sgt, at, r.len, addr, max);
  }
  if (state && useIova) {
    dmaIovaSync(dev, state, 0, mappedLen);
    at = fillSgEntries(sgt, at, mappedLen, state.addr, max);
  }
  sgt.origNents = 0;
  sgt.nents = at;
  dmaOf.set(sgt, { dev, state, size });
  return sgt;
}

function unwind(dev: Device, sgt: SgTable, state: DmaIovaState, filled: number, mappedLen: number, dir: DmaDataDirection, ret: number): number {
  if (dmaUseIova(state)) {
    dmaIovaDestroy(dev, state, mappedLen, dir, DMA_ATTR_MMIO);
  } else {
    for (let i = 0; i < filled; i++) dmaUnmapPhys(dev, sgt.sgl[i]!.dmaAddress, sgt.sgl[i]!.dmaLength, dir, DMA_ATTR_MMIO);
  }
  sgFreeTable(sgt);
  return ret;
}

/**
 * `dma_buf_free_sgt(attach, sgt, dir)`: undo `dmaBufPhysVecToSgt` (destroy
 * the IOVA range, or unmap every entry mapped with `dma_map_phys`; nothing
 * for bus addresses) and free the table. Returns false for a table this
 * helper did not make or already freed.
 *
 * @kernel dma_buf_free_sgt
 */
export function dmaBufFreeSgt(dev: Device, sgt: SgTable, dir: DmaDataDirection): boolean {
  const dma = dmaOf.get(sgt);
  if (!dma || sgt.freed || dma.dev !== dev) return false;
  if (dma.state && dmaUseIova(dma.state)) {
    dmaIovaDestroy(dev, dma.state, dma.size, dir, DMA_ATTR_MMIO);
  } else if (dma.state) {
    for (let i = 0; i < sgt.nents; i++) dmaUnmapPhys(dev, sgt.sgl[i]!.dmaAddress, sgt.sgl[i]!.dmaLength, dir, DMA_ATTR_MMIO);
  }
  dmaOf.delete(sgt);
  sgFreeTable(sgt);
  return true;
}

/**
 * Physical ranges for slices of a BAR: each `{offset, length}` must be
 * non-empty and inside the BAR (`-EINVAL`), without overflowing
 * (`-EOVERFLOW`). Page alignment is the caller's rule (vfio checks it first).
 *
 * @kernel vfio_pci_core_fill_phys_vec (drivers/vfio/pci/vfio_pci_dmabuf.c)
 */
export function fillPhysVec(
  ranges: readonly { offset: number; length: number }[],
  start: number,
  len: number,
): PhysVec[] | number {
  const out: PhysVec[] = [];
  for (const r of ranges) {
    if (!r.length) return -Errno.EINVAL;
    const end = r.offset + r.length;
    if (!Number.isSafeInteger(end)) return -Errno.EOVERFLOW;
    if (end > len) return -Errno.EINVAL;
    out.push({ paddr: start + r.offset, len: r.length });
  }
  return out;
}
