import { describe, expect, it } from 'vitest';
import { Errno, GFP_KERNEL, Kernel, ReplayChooser } from '../../src/kernel/index.ts';
import type { KernelEvent } from '../../src/kernel/index.ts';
import { PAGE_SIZE } from '../../src/pci/index.ts';
import { PhysMem, SystemHeap, physMemOf, systemHeapAllocate } from '../../src/buf/index.ts';
import type { SystemHeapBuffer } from '../../src/buf/index.ts';
import { FailAt } from './heap-fail-at.ts';

const K = 1024;
const M = 1024 * K;

function buf(b: SystemHeapBuffer | number): SystemHeapBuffer {
  if (typeof b === 'number') throw new Error(`errno ${b}`);
  return b;
}

function neverIncreases(orders: number[]): boolean {
  return orders.every((o, i) => i === 0 || o <= orders[i - 1]!);
}

describe('system heap: order selection', () => {
  const cases: [number, number[]][] = [
    [4 * K, [0]],
    [5000, [0, 0]],
    [64 * K, [4]],
    [1 * M, [8]],
    [1 * M + 64 * K + 4 * K, [8, 4, 0]],
    [2 * M + 68 * K, [8, 8, 4, 0]],
    [1 * M - 4 * K, [...Array<number>(15).fill(4), ...Array<number>(15).fill(0)]],
  ];
  for (const [len, orders] of cases) {
    it(`${len} bytes → orders [${orders.join(',')}]`, () => {
      const mem = new PhysMem({ size: 64 * M });
      const b = buf(systemHeapAllocate(mem, len));
      expect(b.orders).toEqual(orders);
      expect(b.len).toBe(Math.ceil(len / PAGE_SIZE) * PAGE_SIZE);
      expect(b.sgTable.entries.map((s) => s.length)).toEqual(orders.map((o) => PAGE_SIZE << o));
      expect(b.sgTable.entries.map((s) => s.page!.pfn)).toEqual(b.chunks.map((c) => c.pfn));
      b.chunks.forEach((c) => { expect(c.pfn % (1 << c.order)).toBe(0); });
    });
  }

  it('validates flags and size as DMA_HEAP_IOCTL_ALLOC does', () => {
    const mem = new PhysMem({ size: 4 * M });
    expect(systemHeapAllocate(mem, 0)).toBe(-Errno.EINVAL);
    expect(systemHeapAllocate(mem, 4096, 0o100)).toBe(-Errno.EINVAL);
    expect(systemHeapAllocate(mem, 4096, 0o2, 1)).toBe(-Errno.EINVAL);
    expect(typeof systemHeapAllocate(mem, 4096, 0o2)).toBe('object');
  });
});

describe('system heap: failure and fragmentation', () => {
  it('never goes back up: an order-8 failure makes every later chunk order 4 or less', () => {
    const chooser = new FailAt(['system_heap:order=8'], 1);
    const k = new Kernel({ chooser });
    const b = buf(systemHeapAllocate(k, 2 * M));
    expect(b.orders).toEqual(Array<number>(32).fill(4));
    expect(chooser.injected).toEqual(['system_heap:order=8']);
    // The memory still had 1 MiB blocks: the rule, not a shortage, kept the order down.
    expect(physMemOf(k).buddyinfo().slice(8).some((n) => n > 0)).toBe(true);
  });

  it('falls to order 0 when memory is fragmented, and the sequence still never increases', () => {
    const mem = new PhysMem({ size: 4 * M, basePfn: 0 });
    const pages = Array.from({ length: 1024 }, () => mem.allocPages(GFP_KERNEL, 0)!);
    // Free pages 0..511 whole (order-9 block) and every other page of the rest.
    pages.forEach((p, i) => {
      if (i < 512 || i % 2 === 0) mem.freePagesBlock(p);
    });
    const b = buf(systemHeapAllocate(mem, 2 * M + 64 * K + 8 * K));
    expect(b.orders).toEqual([8, 8, ...Array<number>(18).fill(0)]);
    expect(neverIncreases(b.orders)).toBe(true);
  });

  it('returns -ENOMEM and gives every chunk back when order 0 fails', () => {
    const chooser = new FailAt(['system_heap:order=0'], 1);
    const k = new Kernel({ chooser });
    const mem = physMemOf(k);
    const free = mem.freePages;
    expect(systemHeapAllocate(k, 1 * M + 4 * K)).toBe(-Errno.ENOMEM);
    expect(mem.freePages).toBe(free);
  });

  it('returns -ENOMEM when memory runs out, leaking nothing', () => {
    const mem = new PhysMem({ size: 4 * M });
    expect(systemHeapAllocate(mem, 5 * M)).toBe(-Errno.ENOMEM);
    expect(mem.freePages).toBe(1024);
    expect(mem.buddyinfo()[10]).toBe(1);
  });

  it('fails with -ENOMEM when the buffer or table allocation is injected', () => {
    for (const site of ['system_heap_allocate:buffer', 'sg_alloc_table']) {
      const k = new Kernel({ chooser: new FailAt([site]) });
      expect(systemHeapAllocate(k, 64 * K)).toBe(-Errno.ENOMEM);
      expect(physMemOf(k).freePages).toBe(physMemOf(k).totalPages);
    }
  });

  it('stops with -EINTR when a signal is pending', async () => {
    const k = new Kernel();
    let ret: unknown;
    k.kthreadRun('alloc', () => {
      k.current.signalPending = true;
      ret = systemHeapAllocate(k, 1 * M);
    });
    await k.run();
    expect(ret).toBe(-Errno.EINTR);
  });

  it('release returns the pages; a pooled heap keeps them and reuses them first', () => {
    const mem = new PhysMem({ size: 16 * M });
    const b = buf(systemHeapAllocate(mem, 1 * M + 64 * K));
    b.release();
    expect(mem.freePages).toBe(mem.totalPages);
    const heap = new SystemHeap(mem, { pagePool: true });
    const first = buf(heap.allocate(1 * M + 64 * K));
    const pfns = first.chunks.map((c) => c.pfn);
    first.release();
    expect(heap.pools!.map((p) => p.count)).toEqual([1, 1, 0]);
    expect(mem.freePages).toBe(mem.totalPages - 256 - 16);
    const second = buf(heap.allocate(1 * M + 64 * K));
    expect(second.chunks.map((c) => c.pfn)).toEqual(pfns);
    expect(heap.pools!.map((p) => p.stats.hits)).toEqual([1, 1, 0]);
  });
});

describe('system heap: determinism', () => {
  async function run(k: Kernel): Promise<{ orders: number[][]; events: string[]; schedule: ReturnType<Kernel['run']> extends Promise<infer R> ? R : never }> {
    const events: string[] = [];
    k.events.on((e: KernelEvent) => events.push(JSON.stringify(e)));
    const orders: number[][] = [];
    for (const name of ['a', 'b']) {
      k.kthreadRun(name, async () => {
        for (let i = 0; i < 4; i++) {
          const b = systemHeapAllocate(k, 3 * M + 68 * K);
          orders.push(typeof b === 'number' ? [b] : b.orders);
          await k.schedulePoint('yield');
        }
      });
    }
    const schedule = await k.run();
    return { orders, events, schedule };
  }

  it('replays fault injections and thread order byte for byte', async () => {
    const first = await run(new Kernel({ seed: 7, faults: { alloc: 0.2 } }));
    // Injected high-order failures pushed some buffers off three 1 MiB chunks.
    expect(first.schedule.schedule.decisions.some((d) => d.kind === 'alloc')).toBe(true);
    expect(first.orders.some((o) => o.filter((x) => x === 8).length < 3)).toBe(true);
    first.orders.forEach((o) => { expect(neverIncreases(o)).toBe(true); });
    const again = await run(new Kernel({ seed: 7, faults: { alloc: 0.2 } }));
    expect(again.events).toEqual(first.events);
    const replay = await run(new Kernel({ chooser: new ReplayChooser(first.schedule.schedule) }));
    expect(replay.orders).toEqual(first.orders);
    expect(replay.events).toEqual(first.events);
  });
});
