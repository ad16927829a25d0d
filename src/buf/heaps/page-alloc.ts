import type { Kernel } from '../../kernel/index.ts';
import { PAGE_SIZE } from '../../pci/index.ts';
import type { Page } from '../../pci/index.ts';
import { allocFails } from './gfp.ts';

/** `MAX_PAGE_ORDER`: the largest buddy block is 2^10 pages (4 MiB). */
export const MAX_PAGE_ORDER = 10;

/**
 * A block returned by `alloc_pages(gfp, order)`: the head page of a compound
 * page of 2^order physically contiguous frames.
 *
 * @kernel struct page (head of a compound page), compound_order, page_size
 */
export interface PageBlock extends Page {
  readonly order: number;
  freed: boolean;
}

/** `page_size(page)` in bytes. @kernel page_size */
export function pageBlockSize(b: PageBlock): number {
  return PAGE_SIZE << b.order;
}

/** A min-heap of PFNs with lazy deletion (entries absent from `live` are skipped). */
class PfnHeap {
  private readonly a: number[] = [];
  readonly live = new Set<number>();

  push(pfn: number): void {
    this.live.add(pfn);
    const a = this.a;
    a.push(pfn);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= a[i]!) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  popMin(): number | undefined {
    const a = this.a;
    while (a.length > 0) {
      const top = a[0]!;
      const last = a.pop()!;
      if (a.length > 0) {
        a[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < a.length && a[l]! < a[m]!) m = l;
          if (r < a.length && a[r]! < a[m]!) m = r;
          if (m === i) break;
          [a[m], a[i]] = [a[i]!, a[m]!];
          i = m;
        }
      }
      if (this.live.delete(top)) return top;
    }
    return undefined;
  }

  remove(pfn: number): boolean {
    return this.live.delete(pfn);
  }
}

/** Options of the simulated RAM: its size and where it starts. */
export interface PhysMemOptions {
  /** Bytes of RAM (default 1 GiB). */
  readonly size?: number;
  /** First PFN (default 0x80000: RAM at 2 GiB, as on many arm64 boards). */
  readonly basePfn?: number;
  /** Kernel for fault injection (`k.inject('alloc', …)`), lockdep's reclaim tracking and BUG splats. */
  readonly kernel?: Kernel | null;
}

/**
 * Simulated RAM with page frame numbers and a buddy allocator: free lists
 * per order 0..`MAX_PAGE_ORDER`, splitting larger blocks on demand and
 * merging buddies on free. Deterministic: each free list hands out its
 * lowest PFN first (the kernel takes the list head; any fixed rule keeps
 * runs reproducible). With a kernel, every `allocPages` may be failed by
 * the chooser; without one, only real exhaustion fails.
 *
 * @kernel the buddy allocator (mm/page_alloc.c: __rmqueue_smallest, __free_one_page)
 */
export class PhysMem {
  readonly basePfn: number;
  readonly totalPages: number;
  readonly kernel: Kernel | null;
  private readonly free: PfnHeap[] = Array.from({ length: MAX_PAGE_ORDER + 1 }, () => new PfnHeap());
  private nrFree = 0;
  /** Counters: calls, failures (injected or real), splits and merges. */
  readonly stats = { allocs: 0, failures: 0, injected: 0, frees: 0, splits: 0, merges: 0 };

  constructor(opts: PhysMemOptions = {}) {
    this.basePfn = opts.basePfn ?? 0x80000;
    this.totalPages = Math.floor((opts.size ?? 1 << 30) / PAGE_SIZE);
    this.kernel = opts.kernel ?? null;
    const end = this.basePfn + this.totalPages;
    for (let pfn = this.basePfn; pfn < end; ) {
      let o = MAX_PAGE_ORDER;
      while (o > 0 && (pfn % (1 << o) !== 0 || pfn + (1 << o) > end)) o--;
      this.free[o]!.push(pfn);
      this.nrFree += 1 << o;
      pfn += 1 << o;
    }
  }

  /** Free pages in total (`nr_free_pages`). */
  get freePages(): number {
    return this.nrFree;
  }

  /** Free blocks of each order (`/proc/buddyinfo`). */
  buddyinfo(): number[] {
    return this.free.map((h) => h.live.size);
  }

  /** True when `pfn` belongs to this memory. */
  contains(pfn: number): boolean {
    return pfn >= this.basePfn && pfn < this.basePfn + this.totalPages;
  }

  /**
   * `alloc_pages(gfp, order)`: a block of 2^order pages, or null (injected
   * failure, or no free block of that order or larger). `site` names the
   * decision in a recorded schedule.
   *
   * @kernel alloc_pages
   */
  allocPages(gfp: number, order: number, site = `alloc_pages:order=${order}`): PageBlock | null {
    if (order < 0 || order > MAX_PAGE_ORDER) throw new Error(`alloc_pages: order ${order} is outside 0..${MAX_PAGE_ORDER}`);
    this.stats.allocs++;
    if (allocFails(this.kernel, gfp, site, PAGE_SIZE << order)) {
      this.stats.failures++;
      this.stats.injected++;
      return null;
    }
    let o = order;
    let pfn: number | undefined;
    for (; o <= MAX_PAGE_ORDER; o++) {
      pfn = this.free[o]!.popMin();
      if (pfn !== undefined) break;
    }
    if (pfn === undefined) {
      this.stats.failures++;
      return null;
    }
    while (o > order) {
      o--;
      this.free[o]!.push(pfn + (1 << o));
      this.stats.splits++;
    }
    this.nrFree -= 1 << order;
    return { pfn, order, pgmap: null, freed: false };
  }

  /**
   * `__free_pages(page, order)`: return a block, merging it with free
   * buddies. Freeing twice is a BUG splat (with a kernel) or an error.
   *
   * @kernel __free_pages
   */
  freePagesBlock(b: PageBlock): void {
    if (b.freed || !this.contains(b.pfn)) {
      const msg = `bad page: pfn 0x${b.pfn.toString(16)} order ${b.order} ${b.freed ? 'freed twice' : 'not in this memory'}`;
      if (!this.kernel) throw new Error(msg);
      this.kernel.splat({ rule: 'mm.bad_page', severity: 'bug', headline: 'BUG: Bad page state', body: msg });
      return;
    }
    b.freed = true;
    this.stats.frees++;
    this.nrFree += 1 << b.order;
    let pfn = b.pfn;
    let o = b.order;
    while (o < MAX_PAGE_ORDER) {
      const size = 2 ** o;
      // Arithmetic, not XOR: PFNs may exceed 32 bits.
      const buddy = Math.floor(pfn / size) % 2 === 0 ? pfn + size : pfn - size;
      if (!this.contains(buddy) || !this.free[o]!.remove(buddy)) break;
      pfn = Math.min(pfn, buddy);
      o++;
      this.stats.merges++;
    }
    this.free[o]!.push(pfn);
  }
}

const memOf = new WeakMap<Kernel, PhysMem>();

/**
 * The simulated RAM of kernel `k` (created on first use: 1 GiB, injections through `k`).
 *
 * @kernel none: one simulated RAM per model kernel, made on first use (the kernel sets its memory up at boot)
 */
export function physMemOf(k: Kernel): PhysMem {
  let m = memOf.get(k);
  if (!m) {
    m = new PhysMem({ kernel: k });
    memOf.set(k, m);
  }
  return m;
}

/**
 * Give kernel `k` a RAM of another shape (before anything allocated from it).
 *
 * @kernel none: model setup (a kernel's memory layout is fixed at boot)
 */
export function setPhysMem(k: Kernel, mem: PhysMem): void {
  memOf.set(k, mem);
}
