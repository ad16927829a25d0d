import { describe, expect, it } from 'vitest';
import { Errno, GFP_KERNEL, Kernel } from '../../src/kernel/index.ts';
import { PAGE_SIZE } from '../../src/pci/index.ts';
import { PhysMem, Vma, remapPfnRange, systemHeapAllocate } from '../../src/buf/index.ts';
import type { SystemHeapBuffer } from '../../src/buf/index.ts';

const K = 1024;
const M = 1024 * K;
const P = PAGE_SIZE;

/**
 * RAM where free 1 MiB blocks are not adjacent, so a buffer's chunks are
 * scattered: a wrong PFN offset inside or across chunks cannot go unseen.
 */
function scatteredMem(): PhysMem {
  const mem = new PhysMem({ size: 16 * M, basePfn: 0x40000 });
  const big = Array.from({ length: 8 }, () => mem.allocPages(GFP_KERNEL, 8)!);
  big.filter((_, i) => i === 5 || i === 2).forEach((b) => { mem.freePagesBlock(b); });
  const small = Array.from({ length: 6 }, () => mem.allocPages(GFP_KERNEL, 4)!);
  mem.freePagesBlock(small[3]!);
  const tiny = Array.from({ length: 4 }, () => mem.allocPages(GFP_KERNEL, 0)!);
  mem.freePagesBlock(tiny[2]!);
  mem.freePagesBlock(tiny[0]!);
  return mem;
}

function buffer(mem: PhysMem, len: number): SystemHeapBuffer {
  const b = systemHeapAllocate(mem, len);
  if (typeof b === 'number') throw new Error(`errno ${b}`);
  return b;
}

/** The PFN of every page of the buffer, in buffer order (the ground truth). */
function pagesOf(b: SystemHeapBuffer): number[] {
  return b.chunks.flatMap((c) => Array.from({ length: 1 << c.order }, (_, i) => c.pfn + i));
}

describe('system heap mmap: one remap_pfn_range per chunk', () => {
  it('maps a [1M, 1M, 64K, 4K] buffer with 4 calls instead of 529', () => {
    const b = buffer(scatteredMem(), 2 * M + 68 * K);
    expect(b.orders).toEqual([8, 8, 4, 0]);
    const chunked = new Vma({ len: b.len });
    const perPage = new Vma({ len: b.len });
    expect(b.mmap(chunked)).toBe(0);
    expect(b.mmapPerPage(perPage)).toBe(0);
    expect(chunked.mapCalls).toBe(4);
    expect(perPage.mapCalls).toBe(529);
    expect(chunked.calls.map((c) => [c.pfn, c.size])).toEqual(b.chunks.map((c) => [c.pfn, P << c.order]));
    expect(chunked.pageMap()).toEqual(pagesOf(b));
    expect(perPage.pageMap()).toEqual(pagesOf(b));
  });

  it('starts inside an entry for a pgoff there: its tail first, then whole entries', () => {
    const b = buffer(scatteredMem(), 2 * M + 68 * K);
    const vma = new Vma({ len: b.len - 300 * P, pgoff: 300 });
    expect(b.mmap(vma)).toBe(0);
    const second = b.chunks[1]!.pfn;
    expect(vma.calls.map((c) => [c.pfn, c.size / P])).toEqual([
      [second + 44, 212],
      [b.chunks[2]!.pfn, 16],
      [b.chunks[3]!.pfn, 1],
    ]);
  });

  it('clamps the last call to the end of a shorter VMA', () => {
    const b = buffer(scatteredMem(), 2 * M + 68 * K);
    const vma = new Vma({ len: 300 * P, pgoff: 10 });
    expect(b.mmap(vma)).toBe(0);
    expect(vma.calls.map((c) => c.size / P)).toEqual([246, 54]);
    expect(vma.mappedPages()).toBe(300);
  });

  it('maps the same PFN at every address as the per-page method, for every pgoff and length', () => {
    const b = buffer(scatteredMem(), 1 * M + 64 * K + 8 * K);
    expect(b.orders).toEqual([8, 4, 0, 0]);
    const truth = pagesOf(b);
    const n = truth.length;
    const padded = Float64Array.from([...truth, -1, -1]);
    let combos = 0;
    const errors: string[] = [];
    const chunkOf = (page: number) => (page < 256 ? 0 : page < 272 ? 1 : page - 272 + 2);
    for (let pgoff = 0; pgoff <= n; pgoff++) {
      // Lengths past the end too: the heap must stop at the last page either way.
      for (let len = 1; len <= n - pgoff + 2; len++) {
        combos++;
        const chunked = new Vma({ len: len * P, pgoff });
        const perPage = new Vma({ len: len * P, pgoff });
        if (b.mmap(chunked) !== 0 || b.mmapPerPage(perPage) !== 0) errors.push(`pgoff ${pgoff} len ${len}: error`);
        const cp = chunked.ptes;
        const pp = perPage.ptes;
        for (let i = 0; i < len; i++) {
          const want = padded[pgoff + i]!;
          if (cp[i] !== want || pp[i] !== want) errors.push(`pgoff ${pgoff} len ${len} page ${i}: chunked ${cp[i]} per-page ${pp[i]} want ${want}`);
        }
        const mapped = Math.max(0, Math.min(len, n - pgoff));
        const calls = mapped === 0 ? 0 : chunkOf(pgoff + mapped - 1) - chunkOf(pgoff) + 1;
        if (perPage.mapCalls !== mapped || chunked.mapCalls !== calls) {
          errors.push(`pgoff ${pgoff} len ${len}: calls ${chunked.mapCalls}/${perPage.mapCalls}, want ${calls}/${mapped}`);
        }
      }
    }
    expect(errors.slice(0, 5)).toEqual([]);
    expect(combos).toBe(((n + 1) * (n + 2)) / 2 + n + 1);
  });

  it('reports a remap over an existing PTE, and a range outside the VMA', () => {
    const b = buffer(new PhysMem({ size: 4 * M }), 64 * K);
    const vma = new Vma({ len: 64 * K });
    expect(b.mmap(vma)).toBe(0);
    expect(b.mmap(vma)).toBe(-Errno.EBUSY);
    expect(vma.violations[0]).toMatch(/^mm.remap_pte_exists/);
    expect(remapPfnRange(vma, vma.end, 1, P)).toBe(-Errno.EINVAL);
    expect(remapPfnRange(vma, vma.start + 1, 1, P)).toBe(-Errno.EINVAL);
    const k = new Kernel();
    const kv = new Vma({ len: P, kernel: k });
    expect(remapPfnRange(kv, kv.start, 5, 2 * P)).toBe(-Errno.EINVAL);
    expect(k.splats.map((s) => s.rule)).toEqual(['mm.remap_outside_vma']);
  });

  it('refuses to map a released buffer', () => {
    const b = buffer(new PhysMem({ size: 4 * M }), 64 * K);
    b.release();
    expect(b.mmap(new Vma({ len: 64 * K }))).toBe(-Errno.EINVAL);
    expect(b.violations).toHaveLength(1);
  });
});
