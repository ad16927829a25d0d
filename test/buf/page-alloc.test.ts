import { describe, expect, it } from 'vitest';
import { GFP_KERNEL, Kernel } from '../../src/kernel/index.ts';
import { MAX_PAGE_ORDER, PagePool, PhysMem, physMemOf } from '../../src/buf/index.ts';
import type { PageBlock } from '../../src/buf/index.ts';

const MiB = 1 << 20;

describe('buddy page allocator', () => {
  it('starts with max-order blocks and hands out the lowest PFN, splitting as needed', () => {
    const mem = new PhysMem({ size: 8 * MiB, basePfn: 0x1000 });
    expect(mem.buddyinfo()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    const a = mem.allocPages(GFP_KERNEL, 0)!;
    expect(a.pfn).toBe(0x1000);
    // Splitting one 4 MiB block left one free block of every order 0..9.
    expect(mem.buddyinfo()).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const b = mem.allocPages(GFP_KERNEL, 4)!;
    expect(b.pfn).toBe(0x1010);
    expect(b.pfn % 16).toBe(0);
    expect(mem.freePages).toBe(2048 - 1 - 16);
  });

  it('merges buddies on free back to the original blocks', () => {
    const mem = new PhysMem({ size: 4 * MiB, basePfn: 0 });
    const blocks: PageBlock[] = [];
    for (let i = 0; i < 1024; i++) blocks.push(mem.allocPages(GFP_KERNEL, 0)!);
    expect(mem.freePages).toBe(0);
    expect(mem.allocPages(GFP_KERNEL, 0)).toBeNull();
    for (const b of blocks.reverse()) mem.freePagesBlock(b);
    expect(mem.buddyinfo()[MAX_PAGE_ORDER]).toBe(1);
    expect(mem.freePages).toBe(1024);
  });

  it('fragments: freeing every other page leaves no block above order 0', () => {
    const mem = new PhysMem({ size: 4 * MiB, basePfn: 0 });
    const blocks = Array.from({ length: 1024 }, () => mem.allocPages(GFP_KERNEL, 0)!);
    blocks.filter((_, i) => i % 2 === 0).forEach((b) => { mem.freePagesBlock(b); });
    expect(mem.buddyinfo()).toEqual([512, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(mem.allocPages(GFP_KERNEL, 1)).toBeNull();
    expect(mem.allocPages(GFP_KERNEL, 0)).not.toBeNull();
  });

  it('handles a base PFN that is not max-order aligned', () => {
    const mem = new PhysMem({ size: 4 * MiB, basePfn: 0x10 });
    expect(mem.freePages).toBe(1024);
    const b = mem.allocPages(GFP_KERNEL, 8)!;
    expect(b.pfn % 256).toBe(0);
    expect(mem.contains(b.pfn + 255)).toBe(true);
  });

  it('reports a double free (an error without a kernel, a BUG splat with one)', () => {
    const mem = new PhysMem({ size: 4 * MiB });
    const b = mem.allocPages(GFP_KERNEL, 2)!;
    mem.freePagesBlock(b);
    expect(() => { mem.freePagesBlock(b); }).toThrow(/freed twice/);
    const k = new Kernel();
    const km = new PhysMem({ size: 4 * MiB, kernel: k });
    const c = km.allocPages(GFP_KERNEL, 0)!;
    km.freePagesBlock(c);
    km.freePagesBlock(c);
    expect(k.splats.map((s) => s.rule)).toEqual(['mm.bad_page']);
  });

  it('fails on injection from the kernel chooser, and the kernel has a default RAM', () => {
    const k = new Kernel({ faults: { alloc: 1 } });
    const mem = physMemOf(k);
    expect(physMemOf(k)).toBe(mem);
    expect(mem.totalPages).toBe(262144);
    expect(mem.allocPages(GFP_KERNEL, 0)).toBeNull();
    expect(mem.stats.injected).toBe(1);
    expect(mem.freePages).toBe(262144);
  });
});

describe('page pool', () => {
  it('reuses freed blocks before asking the buddy allocator, and shrinks back to it', () => {
    const mem = new PhysMem({ size: 8 * MiB });
    const pool = new PagePool(mem, 4, GFP_KERNEL);
    const a = pool.alloc()!;
    expect(pool.stats).toEqual({ hits: 0, misses: 1 });
    pool.free(a);
    expect(pool.count).toBe(1);
    const before = mem.freePages;
    const again = pool.alloc()!;
    expect(again.pfn).toBe(a.pfn);
    expect(pool.stats.hits).toBe(1);
    expect(mem.freePages).toBe(before);
    pool.free(again);
    expect(pool.shrink()).toBe(1);
    expect(mem.freePages).toBe(before + 16);
    expect(() => { pool.free(mem.allocPages(GFP_KERNEL, 0)!); }).toThrow(/order/);
  });
});
