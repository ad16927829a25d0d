import { Errno, GFP_KERNEL } from '../../kernel/index.ts';
import type { Kernel, Mutex } from '../../kernel/index.ts';
import { PAGE_SIZE } from '../../pci/index.ts';
import type { DmaDataDirection, Device } from '../../pci/index.ts';
import {
  dmaMapSgtable,
  dmaSyncSgtableForCpu,
  dmaSyncSgtableForDevice,
  dmaUnmapSgtable,
  dupSgTable,
  sgFreeTable,
  sgPageCount,
} from '../sg-table.ts';
import type { SgTable } from '../sg-table.ts';
import { allocFails } from './gfp.ts';
import type { PageBlock } from './page-alloc.ts';
import { remapPfnRange } from './vma.ts';
import type { Vma, VmallocSpace, VmapArea } from './vma.ts';

/**
 * What a buffer uses of the heap that allocated it (`buffer->heap`): the
 * kernel its rules splat on, the vmalloc space its vmaps come from, and the
 * path its chunks go back by. `SystemHeap` (system-heap.ts, which creates
 * the buffers, so sits above this file) is one.
 */
export interface SystemHeapBufferHeap {
  readonly kernel: Kernel | null;
  readonly vmalloc: VmallocSpace;
  /** vmap maps each compound chunk in one operation. */
  readonly vmapBatched: boolean;
  /** Give chunks back: to their pool, or to the buddy allocator. */
  freeChunks(chunks: readonly PageBlock[]): void;
}

/**
 * `struct dma_heap_attachment`: the importing device, its own copy of the
 * buffer's sg table (mapped for that device), and whether it is mapped.
 *
 * @kernel struct dma_heap_attachment (drivers/dma-buf/heaps/system_heap.c)
 */
export interface SystemHeapAttachment {
  readonly dev: Device;
  readonly table: SgTable;
  mapped: boolean;
}

/**
 * `struct system_heap_buffer`: the chunks the heap allocated (orders 8, 4,
 * 0, never increasing), the sg table with one entry per chunk, the
 * attachments, the vmap count and cached mapping, and `lock` (a mutex when
 * the heap has a kernel: then attach, detach, CPU access and vmap must run
 * in a simulated thread, as they take it).
 *
 * The exporter ops a dma_buf wrapper must forward (`system_heap_buf_ops`):
 * attach → `attach(attach.dev)` (keep the result as `attach.priv`); detach
 * → `detach(priv)`; map_dma_buf / unmap_dma_buf (resv held) →
 * `mapDmaBuf(priv, dir)` / `unmapDmaBuf(priv, sgt, dir)`;
 * begin/end_cpu_access → `beginCpuAccess(dir)` / `endCpuAccess(dir)`; mmap
 * → `mmap(vma)` (after the core's size check); vmap / vunmap (resv held) →
 * `vmap()` / `vunmap(area)`; release → `release()`. Export with size
 * `len`, exporter name `heap.name`, the allocation's fd flags, priv = this.
 *
 * @kernel struct system_heap_buffer, system_heap_buf_ops
 */
export class SystemHeapBuffer {
  readonly attachments: SystemHeapAttachment[] = [];
  vmapCnt = 0;
  vaddr: VmapArea | null = null;
  released = false;
  /** Cache maintenance done for CPU access while vmapped (`invalidate/flush_kernel_vmap_range`). */
  readonly cacheOps = { invalidate: 0, flush: 0 };
  /** Rule violations found without a kernel to splat on. */
  readonly violations: string[] = [];

  constructor(
    readonly heap: SystemHeapBufferHeap,
    /** `buffer->len`: the page-aligned size. */
    readonly len: number,
    readonly fdFlags: number,
    /** The allocated blocks, in sg-table order. */
    readonly chunks: readonly PageBlock[],
    /** `buffer->sg_table`: one entry per chunk, `page_size(chunk)` long. */
    readonly sgTable: SgTable,
    readonly lock: Mutex | null,
  ) {}

  private get kernel(): Kernel | null {
    return this.heap.kernel;
  }

  /** The order of each chunk, in allocation order. */
  get orders(): number[] {
    return this.chunks.map((c) => c.order);
  }

  private usable(op: string): boolean {
    if (!this.released) return true;
    const body = `${op} on a system heap buffer after release (its pages are back in the allocator)`;
    if (this.kernel) this.kernel.splat({ rule: 'heap.use_after_release', severity: 'bug', headline: 'BUG: KASAN: use-after-free in system heap buffer', body });
    else this.violations.push(body);
    return false;
  }

  private async lockBuf(): Promise<void> {
    if (this.lock) await this.lock.lock();
  }

  private unlockBuf(): void {
    this.lock?.unlock();
  }

  /** `system_heap_attach`: copy the sg table for `dev`; `-ENOMEM` on allocation failure. */
  async attach(dev: Device): Promise<SystemHeapAttachment | number> {
    if (!this.usable('attach')) return -Errno.EINVAL;
    if (allocFails(this.kernel, GFP_KERNEL, 'system_heap_attach')) return -Errno.ENOMEM;
    const table = dupSgTable(this.sgTable, GFP_KERNEL, this.kernel);
    if (typeof table === 'number') return table;
    const a: SystemHeapAttachment = { dev, table, mapped: false };
    await this.lockBuf();
    this.attachments.push(a);
    this.unlockBuf();
    return a;
  }

  /** `system_heap_detach`. */
  async detach(a: SystemHeapAttachment): Promise<void> {
    await this.lockBuf();
    const i = this.attachments.indexOf(a);
    if (i >= 0) this.attachments.splice(i, 1);
    this.unlockBuf();
    sgFreeTable(a.table);
  }

  /** `system_heap_map_dma_buf`: `dma_map_sgtable` of the attachment's copy; the table or a negative errno. */
  mapDmaBuf(a: SystemHeapAttachment, dir: DmaDataDirection): SgTable | number {
    if (!this.usable('map_dma_buf')) return -Errno.EINVAL;
    const ret = dmaMapSgtable(a.dev, a.table, dir, 0);
    if (ret) return ret;
    a.mapped = true;
    return a.table;
  }

  /** `system_heap_unmap_dma_buf`. */
  unmapDmaBuf(a: SystemHeapAttachment, table: SgTable, dir: DmaDataDirection): void {
    a.mapped = false;
    dmaUnmapSgtable(a.dev, table, dir, 0);
  }

  /** `system_heap_dma_buf_begin_cpu_access`: invalidate the vmap range, sync every mapped attachment for the CPU. */
  async beginCpuAccess(dir: DmaDataDirection): Promise<number> {
    await this.lockBuf();
    if (this.vmapCnt) this.cacheOps.invalidate++;
    for (const a of this.attachments) if (a.mapped) dmaSyncSgtableForCpu(a.dev, a.table, dir);
    this.unlockBuf();
    return 0;
  }

  /** `system_heap_dma_buf_end_cpu_access`: flush the vmap range, sync mapped attachments for the device. */
  async endCpuAccess(dir: DmaDataDirection): Promise<number> {
    await this.lockBuf();
    if (this.vmapCnt) this.cacheOps.flush++;
    for (const a of this.attachments) if (a.mapped) dmaSyncSgtableForDevice(a.dev, a.table, dir);
    this.unlockBuf();
    return 0;
  }

  /**
   * `system_heap_mmap` as merged in late 2025 (commit 04c7adb5871a): skip
   * the sg entries wholly covered by `vma.pgoff`, start the first remaining
   * entry at the leftover page, then one `remap_pfn_range` per entry with
   * its whole remaining size, clamped to the end of the VMA.
   *
   * @kernel system_heap_mmap (drivers/dma-buf/heaps/system_heap.c)
   */
  mmap(vma: Vma): number {
    if (!this.usable('mmap')) return -Errno.EINVAL;
    const entries = this.sgTable.entries;
    let pgoff = vma.pgoff;
    let i = 0;
    for (; i < entries.length; i++) {
      const n = entries[i]!.length / PAGE_SIZE;
      if (pgoff < n) break;
      pgoff -= n;
    }
    let addr = vma.start;
    for (; i < entries.length && addr < vma.end; i++) {
      const sg = entries[i]!;
      const n = sg.length / PAGE_SIZE - pgoff;
      let size = n * PAGE_SIZE;
      if (addr + size > vma.end) size = vma.end - addr;
      const ret = remapPfnRange(vma, addr, sg.page!.pfn + pgoff, size);
      if (ret) return ret;
      addr += size;
      pgoff = 0;
    }
    return 0;
  }

  /**
   * The `system_heap_mmap` before that change: walk the table page by page
   * from `vma.pgoff` and `remap_pfn_range` one page at a time until the VMA
   * is full. Kept to compare with `mmap`.
   *
   * @kernel system_heap_mmap (before commit 04c7adb5871a)
   */
  mmapPerPage(vma: Vma): number {
    if (!this.usable('mmap')) return -Errno.EINVAL;
    let addr = vma.start;
    if (addr >= vma.end) return 0;
    // for_each_sgtable_page from vm_pgoff, written out (a generator would dominate the cost).
    let skip = vma.pgoff;
    for (const sg of this.sgTable.entries) {
      const count = sgPageCount(sg);
      if (skip >= count) {
        skip -= count;
        continue;
      }
      for (let i = skip; i < count; i++) {
        const ret = remapPfnRange(vma, addr, sg.page!.pfn + i, PAGE_SIZE);
        if (ret) return ret;
        addr += PAGE_SIZE;
        if (addr >= vma.end) return 0;
      }
      skip = 0;
    }
    return 0;
  }

  /**
   * `system_heap_vmap`: map the whole buffer into kernel space once and
   * count users; later calls return the cached mapping. `-ENOMEM` when the
   * page array cannot be allocated.
   *
   * @kernel system_heap_vmap, system_heap_do_vmap
   */
  async vmap(): Promise<VmapArea | number> {
    if (!this.usable('vmap')) return -Errno.EINVAL;
    await this.lockBuf();
    try {
      if (this.vmapCnt) {
        this.vmapCnt++;
        return this.vaddr!;
      }
      if (allocFails(this.kernel, GFP_KERNEL, 'system_heap_do_vmap')) return -Errno.ENOMEM;
      this.vaddr = this.heap.vmalloc.vmap(this.chunks, this.heap.vmapBatched);
      this.vmapCnt = 1;
      return this.vaddr;
    } finally {
      this.unlockBuf();
    }
  }

  /** `system_heap_vunmap`: drop one user; the last one unmaps. */
  async vunmap(area: VmapArea): Promise<void> {
    await this.lockBuf();
    if (this.vmapCnt === 0 || area !== this.vaddr) {
      const body = this.vmapCnt === 0 ? 'vunmap without a vmap' : 'vunmap of a foreign mapping';
      if (this.kernel) this.kernel.splat({ rule: 'heap.bad_vunmap', severity: 'warn', headline: 'WARNING: unbalanced system heap vunmap', body });
      else this.violations.push(body);
    } else if (--this.vmapCnt === 0) {
      this.heap.vmalloc.vunmap(area);
      this.vaddr = null;
    }
    this.unlockBuf();
  }

  /**
   * `system_heap_dma_buf_release`: give every chunk back (to its page pool
   * when the heap has pools, else to the buddy allocator) and free the
   * table. Releasing twice is reported.
   *
   * @kernel system_heap_dma_buf_release
   */
  release(): void {
    if (!this.usable('release')) return;
    this.released = true;
    this.heap.freeChunks(this.chunks);
    sgFreeTable(this.sgTable);
  }
}
