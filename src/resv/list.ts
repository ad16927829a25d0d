import { GFP_KERNEL, kfree, kmalloc, MemLoc } from '../kernel/index.ts';
import type { AccessKind, KBuffer, Kernel } from '../kernel/index.ts';
import type { DmaFence } from '../fence/index.ts';
import type { DmaResvUsage } from './usage.ts';

/** `offsetof(struct dma_resv_list, table)` on 64-bit: an rcu_head (16) and two u32 (8). */
export const DMA_RESV_LIST_HEADER = 24;
/** One table entry: a fence pointer with the usage packed in its low 2 bits. */
export const DMA_RESV_LIST_ENTRY = 8;

const KMALLOC_BUCKETS = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192];
const PAGE_SIZE = 4096;

/**
 * `kmalloc_size_roundup`: the size kmalloc really hands out for `size`
 * bytes (SLUB buckets up to 8 KiB, then whole power-of-two page orders).
 *
 * @kernel kmalloc_size_roundup (mm/slab_common.c)
 */
export function kmallocSizeRoundup(size: number): number {
  for (const b of KMALLOC_BUCKETS) if (size <= b) return b;
  let bytes = PAGE_SIZE;
  while (bytes < size) bytes *= 2;
  return bytes;
}

/** `roundup_pow_of_two`. @kernel roundup_pow_of_two */
export function roundupPowOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * `struct dma_resv_list`: the RCU-published fence table. Writers (resv lock
 * held) replace entries in place or append; readers take a snapshot of the
 * list object and of `numFences`. A list is never shrunk in place: reserving
 * with compaction publishes a new list and the old one stays readable to
 * readers that still hold it (the role of kfree_rcu).
 *
 * @kernel struct dma_resv_list (drivers/dma-buf/dma-resv.c)
 */
export class DmaResvList {
  numFences = 0;
  /** Slots usable before a new reservation; the debug reset at unlock lowers it to `numFences`. */
  maxFences: number;
  /** Slots the allocation really has (from the kmalloc bucket). */
  readonly capacity: number;
  readonly table: (DmaFence | null)[];
  readonly usages: Uint8Array;
  /** Set when the list was replaced and freed (after an RCU grace period in the kernel). */
  freed = false;
  /** @internal instrumented `num_fences` and `max_fences` (with the race detector on). */
  hbLocs: { num: MemLoc; max: MemLoc } | null = null;

  constructor(
    capacity: number,
    /** The simulated allocation backing the table. */
    readonly buf: KBuffer | null,
  ) {
    this.capacity = capacity;
    this.maxFences = capacity;
    this.table = new Array<DmaFence | null>(capacity).fill(null);
    this.usages = new Uint8Array(capacity);
  }

  /** `dma_resv_list_entry`: the fence at `index`. */
  fence(index: number): DmaFence {
    return this.table[index]!;
  }

  /** The usage of the entry at `index`. */
  usage(index: number): DmaResvUsage {
    return this.usages[index] as DmaResvUsage;
  }

  /** `dma_resv_list_set`. */
  set(index: number, fence: DmaFence, usage: DmaResvUsage): void {
    this.table[index] = fence;
    this.usages[index] = usage;
  }
}

/**
 * An instrumented access to `fobj->num_fences` or `fobj->max_fences` by the
 * writers (resv lock held): plain accesses, except the store of
 * `num_fences` in `dma_resv_add_fence` (`smp_store_mb`, marked) that
 * lockless readers pair with. A writer without the lock therefore races
 * with any other writer. A no-op without the race detector.
 *
 * @kernel struct dma_resv_list (num_fences, max_fences)
 */
export function resvListAccess(k: Kernel, list: DmaResvList, field: 'num' | 'max', kind: AccessKind, fn: string): void {
  const hb = k.hb;
  if (hb === null) return;
  const t = k.currentOrNull;
  if (t === null) return;
  const id = list.buf?.id ?? 0;
  const locs = (list.hbLocs ??= {
    num: new MemLoc(`fobj->num_fences (dma_resv_list ${id})`, null, 4),
    max: new MemLoc(`fobj->max_fences (dma_resv_list ${id})`, null, 4),
  });
  hb.access(t, locs[field], kind, fn);
}

/**
 * `dma_resv_list_alloc`: allocate a table for `maxFences` entries with
 * GFP_KERNEL, rounded up to the kmalloc bucket, so the real capacity may be
 * larger (4 requested → a 64-byte bucket → 5 slots). Null on allocation
 * failure. Process context; may reclaim.
 *
 * @kernel dma_resv_list_alloc
 */
export function dmaResvListAlloc(
  k: Kernel,
  maxFences: number,
  site = 'dma_resv_list_alloc',
): DmaResvList | null {
  const size = kmallocSizeRoundup(DMA_RESV_LIST_HEADER + DMA_RESV_LIST_ENTRY * maxFences);
  const buf = kmalloc(k, size, GFP_KERNEL, site);
  if (!buf) return null;
  return new DmaResvList(Math.floor((size - DMA_RESV_LIST_HEADER) / DMA_RESV_LIST_ENTRY), buf);
}

/**
 * `dma_resv_list_free`: drop the reference of every entry below `numFences`
 * and free the table (kfree_rcu). Null is ignored.
 *
 * @kernel dma_resv_list_free
 */
export function dmaResvListFree(k: Kernel, list: DmaResvList | null): void {
  if (!list) return;
  for (let i = 0; i < list.numFences; i++) list.fence(i).put();
  dmaResvListRetire(k, list);
}

/**
 * `kfree_rcu(list)` alone: the references were carried over to a new list.
 *
 * @kernel kfree_rcu(list, rcu) in dma_resv_reserve_fences
 */
export function dmaResvListRetire(k: Kernel, list: DmaResvList): void {
  list.freed = true;
  if (list.buf) kfree(k, list.buf);
}
