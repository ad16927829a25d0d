import { Errno } from '../../kernel/index.ts';
import type { Kernel, SplatSeverity } from '../../kernel/index.ts';
import { PAGE_SIZE, pageAlign } from '../../pci/index.ts';

/** VMA flags the model sets or checks (`include/linux/mm.h`). */
export const VM_SHARED = 0x00000008;
export const VM_MAYSHARE = 0x00000080;
export const VM_PFNMAP = 0x00000400;
export const VM_IO = 0x00004000;
export const VM_DONTEXPAND = 0x00040000;
export const VM_DONTDUMP = 0x04000000;

/** Where the model places user mappings by default (any page-aligned value below 2^53 works). */
export const USER_MMAP_BASE = 0x7f00_0000_0000;

/** One `remap_pfn_range` call as recorded on the VMA. */
export interface RemapCall {
  readonly addr: number;
  readonly pfn: number;
  readonly size: number;
}

/**
 * `struct vm_area_struct` with its page table: `ptes[i]` is the PFN mapped
 * at `start + i * PAGE_SIZE`, or -1. `mapCalls` counts the map calls that
 * filled it (`remap_pfn_range`), and `calls` records them. Rule violations
 * (mapping outside the VMA, over an existing PTE) are splats when the VMA
 * has a kernel, else entries in `violations`.
 *
 * @kernel struct vm_area_struct (vm_start, vm_end, vm_pgoff, vm_flags) and its PTEs
 */
export class Vma {
  readonly start: number;
  readonly end: number;
  pgoff: number;
  flags: number;
  readonly ptes: Float64Array;
  mapCalls = 0;
  readonly calls: RemapCall[] = [];
  readonly violations: string[] = [];
  readonly kernel: Kernel | null;

  constructor(opts: { len: number; start?: number; pgoff?: number; flags?: number; kernel?: Kernel | null }) {
    this.start = opts.start ?? USER_MMAP_BASE;
    if (this.start % PAGE_SIZE !== 0) throw new Error('a VMA starts on a page boundary');
    this.end = this.start + pageAlign(opts.len);
    this.pgoff = opts.pgoff ?? 0;
    this.flags = opts.flags ?? VM_SHARED | VM_MAYSHARE;
    this.kernel = opts.kernel ?? null;
    this.ptes = new Float64Array((this.end - this.start) / PAGE_SIZE).fill(-1);
  }

  /** Pages the VMA spans (`vma_pages`). */
  get pages(): number {
    return this.ptes.length;
  }

  /** The PFN mapped at user address `addr`, or null. */
  pfnAt(addr: number): number | null {
    if (addr < this.start || addr >= this.end) return null;
    const v = this.ptes[Math.floor((addr - this.start) / PAGE_SIZE)]!;
    return v < 0 ? null : v;
  }

  /** The page table as a plain array (PFN or -1 per page), for comparisons. */
  pageMap(): number[] {
    return Array.from(this.ptes);
  }

  /** Pages with a PTE. */
  mappedPages(): number {
    let n = 0;
    for (const v of this.ptes) if (v >= 0) n++;
    return n;
  }

  /** `zap_vma_ptes` of the whole VMA (munmap, or a revoke that zaps user mappings). */
  zap(): void {
    this.ptes.fill(-1);
  }

  violation(rule: string, severity: SplatSeverity, headline: string, body: string): void {
    if (this.kernel) this.kernel.splat({ rule, severity, headline, body });
    else this.violations.push(`${rule}: ${body}`);
  }
}

/**
 * `remap_pfn_range(vma, addr, pfn, size, prot)`: map `size` bytes (page
 * rounded) of frames from `pfn` at `addr` as special PTEs, marking the VMA
 * `VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP`. An unaligned `addr` is a
 * WARN and `-EINVAL`; a PTE already present is the kernel's BUG (the model
 * reports it and returns `-EBUSY`, leaving the earlier pages mapped); a
 * range outside the VMA is refused with `-EINVAL` (the kernel would write
 * page tables it does not own).
 *
 * @kernel remap_pfn_range, remap_pfn_range_internal, remap_pte_range (mm/memory.c)
 */
export function remapPfnRange(vma: Vma, addr: number, pfn: number, size: number, _prot = 0): number {
  if (addr % PAGE_SIZE !== 0) {
    vma.violation('mm.remap_unaligned', 'warn', 'WARNING: remap_pfn_range with an unaligned address', `addr 0x${addr.toString(16)}`);
    return -Errno.EINVAL;
  }
  const len = pageAlign(size);
  if (len === 0 || addr < vma.start || addr + len > vma.end) {
    vma.violation(
      'mm.remap_outside_vma',
      'bug',
      'BUG: remap_pfn_range outside its VMA',
      `range 0x${addr.toString(16)}+0x${len.toString(16)} vs VMA 0x${vma.start.toString(16)}-0x${vma.end.toString(16)}`,
    );
    return -Errno.EINVAL;
  }
  vma.mapCalls++;
  vma.calls.push({ addr, pfn, size: len });
  const first = (addr - vma.start) / PAGE_SIZE;
  const n = len / PAGE_SIZE;
  const ptes = vma.ptes;
  for (let i = 0; i < n; i++) {
    if (ptes[first + i]! >= 0) {
      vma.violation('mm.remap_pte_exists', 'bug', 'kernel BUG at mm/memory.c: remap_pte_range', `PTE at 0x${(addr + i * PAGE_SIZE).toString(16)} already maps pfn 0x${ptes[first + i]!.toString(16)}`);
      return -Errno.EBUSY;
    }
    ptes[first + i] = pfn + i;
  }
  vma.flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
  return 0;
}

/** Model base of the vmalloc area (the kernel's is above 2^53; only differences matter). */
export const VMALLOC_START = 2 ** 44;

/**
 * A kernel virtual mapping made by `vmap`: address, pages, the PFN of each
 * page, and how many map operations built it — one per page, or one per
 * physically contiguous compound block when batching (the Dec 2025 mm
 * change "map contiguous pages in batches for vmap()").
 *
 * @kernel struct vm_struct, vmap, vunmap (mm/vmalloc.c)
 */
export interface VmapArea {
  readonly addr: number;
  readonly npages: number;
  readonly pfns: Float64Array;
  readonly mapOps: number;
  unmapped: boolean;
}

/**
 * The vmalloc address space: a bump allocator with a guard page after every area.
 *
 * @kernel alloc_vmap_area, free_vmap_area (mm/vmalloc.c); deliberate difference: addresses are never reused
 */
export class VmallocSpace {
  private next = VMALLOC_START;
  readonly live = new Set<VmapArea>();

  /**
   * `vmap(pages, count, VM_MAP, PAGE_KERNEL)` over compound blocks (head
   * PFN and order each).
   */
  vmap(blocks: readonly { pfn: number; order: number }[], batched: boolean): VmapArea {
    const npages = blocks.reduce((a, b) => a + (1 << b.order), 0);
    const pfns = new Float64Array(npages);
    let i = 0;
    for (const b of blocks) for (let j = 0; j < 1 << b.order; j++) pfns[i++] = b.pfn + j;
    const area: VmapArea = { addr: this.next, npages, pfns, mapOps: batched ? blocks.length : npages, unmapped: false };
    this.next += (npages + 1) * PAGE_SIZE;
    this.live.add(area);
    return area;
  }

  /** `vunmap(addr)`; false if the area is not mapped. */
  vunmap(area: VmapArea): boolean {
    if (area.unmapped || !this.live.delete(area)) return false;
    area.unmapped = true;
    return true;
  }
}
