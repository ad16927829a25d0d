import { Errno } from '../kernel/index.ts';
import type { Device } from './device.ts';
import { DMA_ATTR_MMIO } from './p2pdma.ts';
import { PAGE_SIZE } from './memory.ts';

/** `enum dma_data_direction`. */
export const DMA_BIDIRECTIONAL = 0;
export const DMA_TO_DEVICE = 1;
export const DMA_FROM_DEVICE = 2;
export const DMA_NONE = 3;
export type DmaDataDirection = 0 | 1 | 2 | 3;

/** `DMA_ATTR_SKIP_CPU_SYNC`. */
export const DMA_ATTR_SKIP_CPU_SYNC = 1 << 5;

/** `DMA_MAPPING_ERROR` (the kernel's `~(dma_addr_t)0`; the model uses -1, never a valid address). */
export const DMA_MAPPING_ERROR = -1;

/** `dma_mapping_error(dev, addr)`: `-ENOMEM` for the error cookie, else 0. @kernel dma_mapping_error */
export function dmaMappingError(_dev: Device, addr: number): number {
  return addr === DMA_MAPPING_ERROR ? -Errno.ENOMEM : 0;
}

/** `dma_get_max_seg_size`. @kernel dma_get_max_seg_size */
export function dmaGetMaxSegSize(dev: Device): number {
  return dev.dma.maxSegmentSize;
}

/** `dma_get_seg_boundary`. @kernel dma_get_seg_boundary */
export function dmaGetSegBoundary(dev: Device): number {
  return dev.dma.segBoundaryMask;
}

/**
 * True when the device's DMA is translated by an IOMMU DMA domain (not identity, not absent).
 *
 * @kernel use_dma_iommu
 */
export function devUsesIommu(dev: Device): boolean {
  return dev.dma.iommu !== null && dev.dma.iommu.type === 'dma';
}

/**
 * `dma_map_phys(dev, phys, size, dir, attrs)`: the DMA address for a CPU
 * physical range. dma-direct (no IOMMU or an identity domain): physical +
 * the device's DMA offset (`phys_to_dma`). IOMMU: a fresh IOVA range covering the pages,
 * keeping the offset within the first page. `DMA_MAPPING_ERROR` when the
 * IOVA space is exhausted. `DMA_ATTR_MMIO` marks the IOMMU mapping as MMIO.
 *
 * @kernel dma_map_phys, dma_direct_map_phys, iommu_dma_map_phys (kernel/dma/mapping.c)
 */
export function dmaMapPhys(dev: Device, phys: number, size: number, _dir: number, attrs: number): number {
  const dom = dev.dma.iommu;
  if (!dom || dom.type === 'identity') return phys + dev.dma.dmaOffset;
  const off = phys % PAGE_SIZE;
  const len = Math.ceil((size + off) / PAGE_SIZE) * PAGE_SIZE;
  const iova = dom.allocIova(len);
  if (!iova) return DMA_MAPPING_ERROR;
  dom.map(iova, phys - off, len, (attrs & DMA_ATTR_MMIO) !== 0);
  return iova + off;
}

/**
 * `dma_unmap_phys(dev, addr, size, dir, attrs)`: undo `dmaMapPhys`. Returns
 * false when nothing was mapped there (the kernel WARNs in iommu-dma).
 *
 * @kernel dma_unmap_phys, iommu_dma_unmap_phys
 */
export function dmaUnmapPhys(dev: Device, addr: number, size: number, _dir: number, _attrs: number): boolean {
  const dom = dev.dma.iommu;
  if (!dom || dom.type === 'identity') return true;
  const off = addr % PAGE_SIZE;
  const iova = addr - off;
  const len = Math.ceil((size + off) / PAGE_SIZE) * PAGE_SIZE;
  const unmapped = dom.unmap(iova, len);
  const freed = dom.freeIova(iova);
  return unmapped === len && freed;
}

/**
 * `struct dma_iova_state`: one contiguous IOVA range that callers link
 * physical ranges into (the two-step DMA API used by
 * `dma_buf_phys_vec_to_sgt`). `size` 0 means "no IOVA: use dma_map_phys".
 *
 * @kernel struct dma_iova_state, dma_use_iova
 */
export interface DmaIovaState {
  addr: number;
  size: number;
  /** The IOVA allocation's page-aligned base (for freeing). */
  base: number;
}

/**
 * A zeroed `dma_iova_state`.
 *
 * @kernel struct dma_iova_state (zero-initialised by its callers)
 */
export function newDmaIovaState(): DmaIovaState {
  return { addr: 0, size: 0, base: 0 };
}

/** `dma_use_iova(state)`. @kernel dma_use_iova */
export function dmaUseIova(state: DmaIovaState | null): boolean {
  return state !== null && state.size !== 0;
}

/**
 * `dma_iova_try_alloc(dev, state, phys, size)`: reserve one IOVA range of
 * `size` bytes (keeping the in-page offset of `phys`). False — and the
 * state stays unused — without an IOMMU DMA domain or when IOVA space is
 * exhausted; callers then map each range with `dmaMapPhys`.
 *
 * @kernel dma_iova_try_alloc (drivers/iommu/dma-iommu.c)
 */
export function dmaIovaTryAlloc(dev: Device, state: DmaIovaState, phys: number, size: number): boolean {
  state.addr = 0;
  state.size = 0;
  if (!devUsesIommu(dev) || size === 0) return false;
  const off = phys % PAGE_SIZE;
  const base = dev.dma.iommu!.allocIova(size + off);
  if (!base) return false;
  state.base = base;
  state.addr = base + off;
  state.size = size;
  return true;
}

/**
 * `dma_iova_link(dev, state, phys, offset, size, dir, attrs)`: map `phys`
 * at `state.addr + offset`. 0 or `-EEXIST` (overlap).
 *
 * @kernel dma_iova_link
 */
export function dmaIovaLink(dev: Device, state: DmaIovaState, phys: number, offset: number, size: number, _dir: number, attrs: number): number {
  if (!dmaUseIova(state)) return -Errno.EINVAL;
  const iova = state.addr + offset;
  const off = iova % PAGE_SIZE;
  return dev.dma.iommu!.map(iova - off, phys - off, Math.ceil((size + off) / PAGE_SIZE) * PAGE_SIZE, (attrs & DMA_ATTR_MMIO) !== 0);
}

/** `dma_iova_sync`: flush the IOTLB for the linked range (no effect in the model); 0. @kernel dma_iova_sync */
export function dmaIovaSync(_dev: Device, _state: DmaIovaState, _offset: number, _size: number): number {
  return 0;
}

/** `dma_iova_unlink(dev, state, offset, size, dir, attrs)`: unmap part of the range, keep the IOVA. @kernel dma_iova_unlink */
export function dmaIovaUnlink(dev: Device, state: DmaIovaState, offset: number, size: number, _dir: number, _attrs: number): void {
  if (!dmaUseIova(state)) return;
  const iova = state.addr + offset;
  const off = iova % PAGE_SIZE;
  dev.dma.iommu!.unmap(iova - off, Math.ceil((size + off) / PAGE_SIZE) * PAGE_SIZE);
}

/** `dma_iova_free(dev, state)`: release the IOVA range (mappings must already be gone). @kernel dma_iova_free */
export function dmaIovaFree(dev: Device, state: DmaIovaState): void {
  if (!dmaUseIova(state)) return;
  dev.dma.iommu!.freeIova(state.base);
  state.size = 0;
}

/** `dma_iova_destroy(dev, state, mapped_len, dir, attrs)`: unlink the first `mappedLen` bytes and free. @kernel dma_iova_destroy */
export function dmaIovaDestroy(dev: Device, state: DmaIovaState, mappedLen: number, dir: number, attrs: number): void {
  if (!dmaUseIova(state)) return;
  if (mappedLen) dmaIovaUnlink(dev, state, 0, mappedLen, dir, attrs);
  dmaIovaFree(dev, state);
}
