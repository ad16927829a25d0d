import type { PageBlock, PhysMem } from './page-alloc.ts';

/**
 * A pool of free blocks of one order, kept back from the buddy allocator so
 * that the next heap allocation of that order is a list pop instead of an
 * `alloc_pages` (which for high orders may fail or need compaction). Blocks
 * come back LIFO; `shrink` returns them to the buddy allocator (the pool
 * shrinker under memory pressure). Pages are treated as zeroed on return
 * (Android zeroes them before reuse).
 *
 * This is the `dmabuf_page_pool` of the Android system heap (and of the
 * 2021 upstream pagepool series, not merged): mainline's system heap has no
 * pool, so `SystemHeap` uses pools only when asked to.
 *
 * @kernel dmabuf_page_pool_alloc, dmabuf_page_pool_free, dmabuf_page_pool_shrink (Android common kernel)
 */
export class PagePool {
  private readonly items: PageBlock[] = [];
  /** Hits (served from the pool) and misses (fell through to `alloc_pages`). */
  readonly stats = { hits: 0, misses: 0 };

  constructor(
    readonly mem: PhysMem,
    readonly order: number,
    readonly gfp: number,
  ) {}

  /** Blocks currently held. */
  get count(): number {
    return this.items.length;
  }

  /** A block from the pool, else from the buddy allocator (which may fail). */
  alloc(site?: string): PageBlock | null {
    const b = this.items.pop();
    if (b) {
      this.stats.hits++;
      b.freed = false;
      return b;
    }
    this.stats.misses++;
    return this.mem.allocPages(this.gfp, this.order, site);
  }

  /** Keep a block for reuse. */
  free(b: PageBlock): void {
    if (b.order !== this.order) throw new Error(`page pool of order ${this.order} got a block of order ${b.order}`);
    b.freed = true;
    this.items.push(b);
  }

  /** Return up to `n` blocks (all by default) to the buddy allocator; the number returned. */
  shrink(n: number = this.items.length): number {
    let done = 0;
    while (done < n) {
      const b = this.items.pop();
      if (!b) break;
      b.freed = false;
      this.mem.freePagesBlock(b);
      done++;
    }
    return done;
  }
}
