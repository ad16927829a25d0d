import { Errno, GFP, GFP_KERNEL, Kernel, Mutex, U64_MAX, wholeArg, __GFP_NOWARN, __GFP_ZERO } from '../../kernel/index.ts';
import { PAGE_SIZE, pageAlign } from '../../pci/index.ts';
import { sgAllocTable, sgSetPage } from '../sg-table.ts';
import { GFP_HIGHUSER, __GFP_COMP, __GFP_RECLAIM, allocFails } from './gfp.ts';
import { PhysMem, pageBlockSize, physMemOf } from './page-alloc.ts';
import type { PageBlock } from './page-alloc.ts';
import { PagePool } from './page-pool.ts';
import { SystemHeapBuffer } from './system-heap-buffer.ts';
import type { SystemHeapBufferHeap } from './system-heap-buffer.ts';
import { VmallocSpace } from './vma.ts';

/** The allocation orders: 1 MiB, 64 KiB, 4 KiB, matching common IOMMU page sizes. */
export const SYSTEM_HEAP_ORDERS: readonly number[] = [8, 4, 0];

/** `LOW_ORDER_GFP`: order-0 pages may reclaim (and so sleep). */
export const LOW_ORDER_GFP = GFP_HIGHUSER | __GFP_ZERO;
/** `HIGH_ORDER_GFP`: high orders never reclaim or retry; failing just falls back to a smaller order. */
export const HIGH_ORDER_GFP = ((GFP_HIGHUSER | __GFP_ZERO | __GFP_NOWARN | GFP.__GFP_NORETRY) & ~__GFP_RECLAIM) | __GFP_COMP;
const ORDER_FLAGS = [HIGH_ORDER_GFP, HIGH_ORDER_GFP, LOW_ORDER_GFP];

/** `DMA_HEAP_VALID_FD_FLAGS`: O_ACCMODE | O_CLOEXEC. */
export const DMA_HEAP_VALID_FD_FLAGS = 0o3 | 0o2000000;
/** `DMA_HEAP_VALID_HEAP_FLAGS`: none defined. */
export const DMA_HEAP_VALID_HEAP_FLAGS = 0;
/** The default fd flags of an allocation (O_RDWR | O_CLOEXEC). */
export const DMA_HEAP_DEFAULT_FD_FLAGS = 0o2 | 0o2000000;

/** Options of the system heap: the variants between kernels that change its behaviour. */
export interface SystemHeapOptions {
  /** Keep freed chunks in per-order pools (Android's system heap); mainline has none (default false). */
  readonly pagePool?: boolean;
  /** vmap maps each compound chunk in one operation (the Dec 2025 mm change; default true). */
  readonly vmapBatched?: boolean;
  readonly name?: string;
}

/**
 * The "system" dma-heap: allocation from simulated RAM in orders 8, 4, 0.
 *
 * @kernel drivers/dma-buf/heaps/system_heap.c (system_heap_create, system_heap_ops)
 */
export class SystemHeap implements SystemHeapBufferHeap {
  readonly name: string;
  readonly pools: PagePool[] | null;
  readonly vmalloc = new VmallocSpace();
  readonly vmapBatched: boolean;

  constructor(
    readonly mem: PhysMem,
    opts: SystemHeapOptions = {},
  ) {
    this.name = opts.name ?? 'system';
    this.vmapBatched = opts.vmapBatched ?? true;
    this.pools = opts.pagePool ? SYSTEM_HEAP_ORDERS.map((o, i) => new PagePool(mem, o, ORDER_FLAGS[i]!)) : null;
  }

  get kernel(): Kernel | null {
    return this.mem.kernel;
  }

  /**
   * `alloc_largest_available(size, max_order)`: try each order from the
   * largest that fits both the remaining size and `maxOrder`; a failed
   * high-order attempt falls through to the next smaller order.
   */
  allocLargestAvailable(size: number, maxOrder: number): PageBlock | null {
    for (let i = 0; i < SYSTEM_HEAP_ORDERS.length; i++) {
      const order = SYSTEM_HEAP_ORDERS[i]!;
      if (size < PAGE_SIZE << order) continue;
      if (maxOrder < order) continue;
      const site = `system_heap:order=${order}`;
      const page = this.pools ? this.pools[i]!.alloc(site) : this.mem.allocPages(ORDER_FLAGS[i]!, order, site);
      if (page) return page;
    }
    return null;
  }

  /** Give chunks back: to their pool, or to the buddy allocator. */
  freeChunks(chunks: readonly PageBlock[]): void {
    for (const c of chunks) {
      const pool = this.pools?.[SYSTEM_HEAP_ORDERS.indexOf(c.order)];
      if (pool) pool.free(c);
      else this.mem.freePagesBlock(c);
    }
  }

  /**
   * `DMA_HEAP_IOCTL_ALLOC` → `dma_heap_buffer_alloc` → `system_heap_allocate`:
   * validate the flags (`-EINVAL`), page-align `len` (0 → `-EINVAL`), then
   * allocate chunks largest first. After each chunk the maximum order drops
   * to that chunk's order (`max_order = compound_order(page)`), so the order
   * sequence never increases: a 1 MiB chunk after a 64 KiB one is
   * impossible. A pending signal stops with `-EINTR`; no chunk at all of any
   * allowed order is `-ENOMEM`. Every failure gives back what was taken.
   *
   * @kernel dma_heap_buffer_alloc (dma-heap.c), system_heap_allocate
   */
  allocate(len: number, fdFlags: number = DMA_HEAP_DEFAULT_FD_FLAGS, heapFlags = 0): SystemHeapBuffer | number {
    wholeArg('SystemHeap.allocate(len, fdFlags, heapFlags)', 'len', len, 'of bytes (size_t)', U64_MAX);
    if (fdFlags & ~DMA_HEAP_VALID_FD_FLAGS) return -Errno.EINVAL;
    if (heapFlags & ~DMA_HEAP_VALID_HEAP_FLAGS) return -Errno.EINVAL;
    const size = pageAlign(len);
    if (!size) return -Errno.EINVAL;
    const k = this.kernel;
    if (allocFails(k, GFP_KERNEL, 'system_heap_allocate:buffer')) return -Errno.ENOMEM;
    const chunks: PageBlock[] = [];
    let remaining = size;
    let maxOrder = SYSTEM_HEAP_ORDERS[0]!;
    while (remaining > 0) {
      if (k?.currentOrNull?.signalPending) {
        this.freeChunks(chunks);
        return -Errno.EINTR;
      }
      const page = this.allocLargestAvailable(remaining, maxOrder);
      if (!page) {
        this.freeChunks(chunks);
        return -Errno.ENOMEM;
      }
      chunks.push(page);
      remaining -= pageBlockSize(page);
      maxOrder = page.order;
    }
    const table = sgAllocTable(chunks.length, GFP_KERNEL, k);
    if (typeof table === 'number') {
      this.freeChunks(chunks);
      return -Errno.ENOMEM;
    }
    chunks.forEach((c, i) => { sgSetPage(table.sgl[i]!, c, pageBlockSize(c), 0); });
    const lock = k ? new Mutex(k, 'system_heap_buffer.lock', { key: 'system_heap_buffer->lock' }) : null;
    return new SystemHeapBuffer(this, size, fdFlags, chunks, table, lock);
  }
}

const heapOf = new WeakMap<object, SystemHeap>();

/**
 * The default system heap of a kernel (over `physMemOf(k)`) or of a memory.
 *
 * @kernel system_heap_create (the heap is registered once at boot; here made on first use per kernel or memory)
 */
export function systemHeapOf(target: Kernel | PhysMem): SystemHeap {
  let h = heapOf.get(target);
  if (!h) {
    h = new SystemHeap(target instanceof Kernel ? physMemOf(target) : target);
    heapOf.set(target, h);
  }
  return h;
}

/**
 * Allocate a system-heap buffer of `len` bytes from a kernel's RAM, a given
 * `PhysMem`, or a configured `SystemHeap`. Returns the buffer or a negative
 * errno. The dma_buf wrapping is the caller's (see `SystemHeapBuffer`).
 *
 * @kernel system_heap_allocate
 */
export function systemHeapAllocate(
  target: Kernel | PhysMem | SystemHeap,
  len: number,
  fdFlags: number = DMA_HEAP_DEFAULT_FD_FLAGS,
  heapFlags = 0,
): SystemHeapBuffer | number {
  const heap = target instanceof SystemHeap ? target : systemHeapOf(target);
  return heap.allocate(len, fdFlags, heapFlags);
}
