import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Kernel, SpinLock } from '../../src/kernel/index.ts';
import {
  DmaFence,
  dmaFenceArrayCreate,
  dmaFenceChainAlloc,
  dmaFenceChainInit,
  dmaFenceContextAlloc,
  dmaFenceDedupArray,
  dmaFenceIsArray,
  dmaFenceUnwrapForEach,
  dmaFenceUnwrapMerge,
  toDmaFenceArray,
} from '../../src/fence/index.ts';
import { inThread, mockFence, mockOps } from './helpers.ts';

function array(k: Kernel, fences: DmaFence[]): DmaFence {
  return dmaFenceArrayCreate(
    k,
    fences.length,
    fences.map((f) => f.get()),
    dmaFenceContextAlloc(k, 1),
    1,
    false,
  )!;
}

function chain(prev: DmaFence | null, fence: DmaFence, seqno: number): DmaFence {
  const c = dmaFenceChainAlloc(fence.kernel)!;
  dmaFenceChainInit(c, prev?.get() ?? null, fence.get(), seqno);
  return c;
}

const leaves = (f: DmaFence) => [...dmaFenceUnwrapForEach(f)].map((x) => `${x.context}:${x.seqno}`);

describe('dma_fence_unwrap', () => {
  it('a plain fence unwraps to itself; an array to its members in order', async () => {
    const { value } = await inThread((k) => {
      const a = mockFence(k, 1, 1);
      const b = mockFence(k, 2, 1);
      const arr = array(k, [a, b]);
      const r = [leaves(a), leaves(arr)];
      a.signal();
      b.signal();
      return r;
    });
    expect(value).toEqual([['1:1'], ['1:1', '2:1']]);
  });

  it('a chain of arrays: the head members first, then older pending points; a plain prev last', async () => {
    const { value } = await inThread((k) => {
      const f = [1, 2, 3, 4, 5].map((c) => mockFence(k, c, 1));
      const c1 = chain(f[4]!, array(k, [f[0]!, f[1]!]), 1);
      const c2 = chain(c1, f[2]!, 2);
      const c3 = chain(c2, array(k, [f[3]!]), 3);
      const all = leaves(c3);
      f[2]!.signal();
      const afterSignal = leaves(c3);
      const plain = leaves(chain(f[0]!, f[1]!, 1));
      for (const x of f) x.signal();
      return [all, afterSignal, plain];
    });
    expect(value).toEqual([
      ['4:1', '3:1', '1:1', '2:1', '5:1'],
      ['4:1', '1:1', '2:1', '5:1'],
      ['2:1', '1:1'],
    ]);
  });

  it('breaking out of the iteration releases the cursor reference', async () => {
    const { value } = await inThread((k) => {
      const f = mockFence(k, 1, 1);
      const c = chain(null, f, 1);
      const before = c.refcount.read();
      for (const _x of dmaFenceUnwrapForEach(c)) break;
      const after = c.refcount.read();
      f.signal();
      return [before, after];
    });
    expect(value).toEqual([1, 1]);
  });
});

describe('dma_fence_unwrap_merge', () => {
  it('nothing pending: a new signalled private stub with the latest timestamp', async () => {
    const { value } = await inThread((k) => {
      const a = mockFence(k, 1, 1);
      const b = mockFence(k, 2, 1);
      a.signalTimestamp(100);
      b.signalTimestamp(300);
      const m = dmaFenceUnwrapMerge(k, a, b)!;
      const empty = dmaFenceUnwrapMerge(k, array(k, [a]))!;
      return [m.signalled, m.timestamp(), m.context, m !== a && m !== b, empty.timestamp()];
    });
    expect(value).toEqual([true, 300, 0, true, 100]);
  });

  it('one pending fence: that fence, with a new reference; inputs are not consumed', async () => {
    const { value } = await inThread((k) => {
      const a = mockFence(k, 1, 1);
      const b = mockFence(k, 2, 1);
      b.signal();
      const m = dmaFenceUnwrapMerge(k, a, b, array(k, [a, b]));
      const r = [m === a, a.refcount.read(), b.refcount.read()];
      a.signal();
      return r;
    });
    // a: ours, the array's, and the merge result's (seen twice, deduplicated to one).
    expect(value).toEqual([true, 3, 2]);
  });

  it('dedup across contexts: the latest fence per context (32-bit rule), ascending context order, flat array', async () => {
    const { value } = await inThread((k) => {
      const lock = new SpinLock(k, 'l');
      const mk = (c: number, s: number) => new DmaFence(k, mockOps, lock, c, s);
      const x = [mk(7, 1), mk(7, 3), mk(3, 0xffffffff), mk(3, 2), mk(5, 1), mk(7, 2)];
      const m = dmaFenceUnwrapMerge(
        k,
        array(k, [x[0]!, x[1]!]),
        chain(null, array(k, [x[2]!, x[4]!]), 1),
        x[3]!,
        x[5]!,
      )!;
      const arr = toDmaFenceArray(m)!;
      const out = arr.fences.map((f) => `${f.context}:${f.seqno}`);
      const nested = arr.fences.some((f) => dmaFenceIsArray(f));
      for (const f of x) f.signal();
      return [out, nested, m.seqno];
    });
    expect(value).toEqual([['3:2', '5:1', '7:3'], false, 1]);
  });

  it('two pending fences of one context collapse to the later one', async () => {
    const { value } = await inThread((k) => {
      const lock = new SpinLock(k, 'l');
      const a = new DmaFence(k, mockOps, lock, 4, 1);
      const b = new DmaFence(k, mockOps, lock, 4, 2);
      const m = dmaFenceUnwrapMerge(k, a, b);
      const r = [m === b, a.refcount.read(), b.refcount.read()];
      a.signal();
      b.signal();
      return r;
    });
    expect(value).toEqual([true, 1, 2]);
  });

  it('dedup_array is O(n log n): sorts and keeps one per context', () => {
    const k = new Kernel();
    const lock = new SpinLock(k, 'l');
    const fs = [3, 1, 2, 1, 3].map((c, i) => new DmaFence(k, mockOps, lock, c, i));
    const n = dmaFenceDedupArray(fs, fs.length);
    expect([n, fs.map((f) => `${f.context}:${f.seqno}`)]).toEqual([3, ['1:3', '2:2', '3:4']]);
  });

  it('property: merge output has one pending fence per context, the latest, in ascending context order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            ctx: fc.integer({ min: 1, max: 6 }),
            seqno: fc.integer({ min: 0, max: 20 }),
            signalled: fc.boolean(),
            group: fc.integer({ min: 0, max: 3 }),
          }),
          { minLength: 1, maxLength: 24 },
        ),
        async (spec) => {
          const { value } = await inThread(
            (k) => {
              const lock = new SpinLock(k, 'l');
              const fences = spec.map((s) => new DmaFence(k, mockOps, lock, s.ctx, s.seqno));
              spec.forEach((s, i) => s.signalled && fences[i]!.signal());
              const groups = [0, 1, 2, 3]
                .map((g) => fences.filter((_f, i) => spec[i]!.group === g))
                .filter((g) => g.length > 0);
              const inputs = groups.map((g, i) =>
                i % 2 === 0 ? array(k, g) : g.length === 1 ? g[0]! : chain(null, array(k, g), 1),
              );
              const m = dmaFenceUnwrapMerge(k, ...inputs)!;
              const out = toDmaFenceArray(m)?.fences ?? (m.signalled ? [] : [m]);
              const res = out.map((f) => [f.context, f.seqno]);
              for (const f of fences) f.signal();
              return res;
            },
            { lockdep: false },
          );
          const expected = new Map<number, number>();
          for (const s of spec)
            if (!s.signalled) expected.set(s.ctx, Math.max(expected.get(s.ctx) ?? -1, s.seqno));
          const want = [...expected.entries()].sort((a, b) => a[0] - b[0]);
          expect(value).toEqual(want);
        },
      ),
      { numRuns: 60, seed: 42 },
    );
  });
});
