import { describe, expect, it } from 'vitest';
import { Errno, Kernel, Prng, SpinLock } from '../../src/kernel/index.ts';
import {
  DmaFence,
  dmaFenceChainAlloc,
  dmaFenceChainContained,
  dmaFenceChainFree,
  dmaFenceChainFindSeqno,
  dmaFenceChainForEach,
  dmaFenceChainInit,
  dmaFenceChainWalk,
  dmaFenceIsChain,
  SEQNO64,
  toDmaFenceChain,
} from '../../src/fence/index.ts';
import type { DmaFenceChain, FencePtr } from '../../src/fence/index.ts';
import { inThread, mockFence, rules } from './helpers.ts';

/** `mock_chain(prev, fence, seqno)`: a node taking new references to both. */
function mockChain(prev: DmaFence | null, fence: DmaFence, seqno: number): DmaFenceChain {
  const c = dmaFenceChainAlloc(fence.kernel)!;
  dmaFenceChainInit(c, prev?.get() ?? null, fence.get(), seqno);
  return c;
}

interface FenceChains {
  fences: DmaFence[];
  chains: DmaFenceChain[];
  tail: DmaFence;
}

/** `fence_chains_init`: `count` links, each on its own mock fence, every node enabled. */
function fenceChainsInit(
  k: Kernel,
  count: number,
  seqnoFn = (i: number) => i + 1,
  enable = true,
): FenceChains {
  const fences: DmaFence[] = [];
  const chains: DmaFenceChain[] = [];
  let tail: DmaFence | null = null;
  const lockFor = () => new SpinLock(k, 'mock', { key: 'mock_fence.lock' });
  for (let i = 0; i < count; i++) {
    fences.push(
      new DmaFence(
        k,
        { getDriverName: () => 'mock', getTimelineName: () => 'mock' },
        lockFor(),
        0,
        0,
      ),
    );
    const c = mockChain(tail, fences[i]!, seqnoFn(i));
    chains.push(c);
    tail = c;
    if (enable) c.enableSwSignaling();
  }
  return { fences, chains, tail: tail! };
}

function fenceChainsFini(fc: FenceChains): void {
  for (const f of fc.fences) {
    f.signal();
    f.put();
  }
  for (const c of fc.chains) c.put();
}

function find(start: DmaFence, seqno: number): { err: number; fence: DmaFence | null } {
  const p: FencePtr = { fence: start.get() };
  const err = dmaFenceChainFindSeqno(p, seqno);
  const fence = p.fence;
  fence?.put();
  return { err, fence };
}

/** Yield until every node signalled (their irq_works run as separate contexts). */
async function settleAll(k: Kernel, fs: readonly DmaFence[], max = 1_000_000): Promise<boolean> {
  for (let i = 0; i < max && !fs.every((f) => f.signalled); i++) await k.schedulePoint('settle');
  return fs.every((f) => f.signalled);
}

describe('dma_fence_chain init', () => {
  it('reuses the previous context when the seqno advances; otherwise a new context and a forced seqno', async () => {
    const { value, result } = await inThread((k) => {
      const f = [mockFence(k), mockFence(k), mockFence(k), mockFence(k)];
      const a = mockChain(null, f[0]!, 5);
      const b = mockChain(a, f[1]!, 7);
      const c = mockChain(b, f[2]!, 3);
      const d = mockChain(f[3]!, f[3]!, 1);
      const out = [
        [a.context === b.context, b.prevSeqno, b.seqno],
        [c.context === b.context, c.prevSeqno, c.seqno],
        [d.prevSeqno, d.seqno, d.context !== a.context],
        [
          (a.flags & SEQNO64) !== 0,
          a.ops.getDriverName(a),
          a.ops.getTimelineName(a),
          dmaFenceIsChain(a),
          toDmaFenceChain(f[0]!),
        ],
        [dmaFenceChainContained(a) === f[0], dmaFenceChainContained(f[0]!) === f[0]],
      ];
      for (const x of f) x.signal();
      return out;
    });
    expect(value).toEqual([
      [true, 5, 7],
      [false, 0, 7],
      [0, 1, true],
      [true, 'dma_fence_chain', 'unbound', true, null],
      [true, true],
    ]);
    expect(result.splats).toEqual([]);
  });

  it('set_deadline is forwarded to every pending contained fence; an unused node can be freed', async () => {
    const seen: number[] = [];
    const { value, result } = await inThread(
      (k) => {
        const mk = (c: number) =>
          new DmaFence(
            k,
            {
              getDriverName: () => 'd',
              getTimelineName: () => 't',
              setDeadline: (f, ns) => seen.push(f.context * 1000 + ns),
            },
            new SpinLock(k, 'l'),
            c,
            1,
          );
        const f = [mk(1), mk(2), mk(3)];
        const a = mockChain(null, f[0]!, 1);
        const b = mockChain(a, f[1]!, 2);
        const c = mockChain(b, f[2]!, 3);
        f[1]!.signal();
        c.setDeadline(7);
        const unused = dmaFenceChainAlloc(k)!;
        dmaFenceChainFree(unused);
        for (const x of f) x.signal();
        for (const x of [a, b, c, ...f]) x.put();
        return unused.refcount.read();
      },
      { leaks: true },
    );
    expect(seen).toEqual([3007, 1007]);
    expect(value).toBe(0);
    expect(result.splats).toEqual([]);
  });

  it('a chain node as the contained fence WARNs', async () => {
    const { result } = await inThread((k) => {
      const f = mockFence(k);
      const inner = mockChain(null, f, 1);
      mockChain(null, inner, 2);
      f.signal();
    });
    expect(rules(result)).toEqual(['fence.chain_nested_chain']);
  });

  it('sanitycheck: a one-link chain signals after its fence (irq_work)', async () => {
    const { value, result } = await inThread(async (k) => {
      const f = mockFence(k);
      const chain = mockChain(null, f, 1);
      chain.enableSwSignaling();
      f.signal();
      f.put();
      const ok = await settleAll(k, [chain]);
      chain.put();
      return ok;
    });
    expect(value).toBe(true);
    expect(result.splats).toEqual([]);
  });
});

describe('dma_fence_chain_find_seqno', () => {
  it('find_seqno: 0 is a no-op, each seqno finds its node, finding self works, future is -EINVAL', async () => {
    const { value } = await inThread((k) => {
      const fc = fenceChainsInit(k, 64);
      const out: string[] = [];
      const p: FencePtr = { fence: fc.tail.get() };
      if (dmaFenceChainFindSeqno(p, 0) !== 0 || p.fence !== fc.tail) out.push('find(0)');
      p.fence!.put();
      for (let i = 0; i < 64; i++) {
        const r = find(fc.tail, i + 1);
        if (r.err || r.fence !== fc.chains[i]) out.push(`find ${i + 1}`);
        const self = find(fc.chains[i]!, i + 1);
        if (self.err || self.fence !== fc.chains[i]) out.push(`self ${i + 1}`);
        const future: FencePtr = { fence: fc.chains[i]!.get() };
        if (
          dmaFenceChainFindSeqno(future, i + 2) !== -Errno.EINVAL ||
          future.fence !== fc.chains[i]
        )
          out.push(`future ${i + 2}`);
        future.fence!.put();
        const prev = find(fc.chains[i]!, i);
        if (prev.err || (i > 0 && prev.fence !== fc.chains[i - 1])) out.push(`prev ${i}`);
      }
      const plain: FencePtr = { fence: fc.fences[0]! };
      out.push(`plain:${dmaFenceChainFindSeqno(plain, 1)}`);
      fenceChainsFini(fc);
      return out;
    });
    expect(value).toEqual([`plain:${-Errno.EINVAL}`]);
  });

  it('find_signaled: a completed point may come back as null (or itself), never another node', async () => {
    const { value } = await inThread((k) => {
      const fc = fenceChainsInit(k, 2);
      fc.fences[0]!.signal();
      const r = find(fc.tail, 1);
      const ok = r.err === 0 && (r.fence === null || r.fence === fc.chains[0]);
      fenceChainsFini(fc);
      return [ok, r.fence];
    });
    expect(value).toEqual([true, null]);
  });

  it('find_out_of_order: signalling the middle point still finds the oldest pending one', async () => {
    const { value } = await inThread((k) => {
      const fc = fenceChainsInit(k, 3);
      fc.fences[1]!.signal();
      const r = find(fc.tail, 2);
      const ok = r.err === 0 && r.fence === fc.chains[0];
      fenceChainsFini(fc);
      return ok;
    });
    expect(value).toBe(true);
  });

  it('find_gap: seqnos 2,4,6..: an odd seqno finds the node above it', async () => {
    const { value } = await inThread((k) => {
      const fc = fenceChainsInit(k, 64, (i) => 2 * i + 2);
      const bad: number[] = [];
      for (let i = 0; i < 64; i++) {
        const r = find(fc.tail, 2 * i + 1);
        if (r.err || r.fence !== fc.chains[i]) bad.push(2 * i + 1);
        const s = find(fc.chains[i]!, 2 * i + 2);
        if (s.err || s.fence !== fc.chains[i]) bad.push(2 * i + 2);
      }
      fenceChainsFini(fc);
      return bad;
    });
    expect(value).toEqual([]);
  });
});

describe('dma_fence_chain walk and signalling', () => {
  it('walk unlinks signalled links; for_each visits the head and the pending points', async () => {
    const { value } = await inThread((k) => {
      const fc = fenceChainsInit(k, 5, undefined, false);
      fc.fences[1]!.signal();
      fc.fences[2]!.signal();
      const seen = [...dmaFenceChainForEach(fc.tail)].map((f) => f.seqno);
      const links = fc.chains.map((c) => (c.prev as DmaFenceChain | null)?.seqno ?? 0);
      const next = dmaFenceChainWalk(fc.fences[0]!.get());
      fenceChainsFini(fc);
      return [seen, links, next];
    });
    // Points 2 and 3 are unlinked: node 4 now points at node 1.
    expect(value).toEqual([[5, 4, 1], [0, 1, 2, 1, 4], null]);
  });

  it('signal_forward: each node signals once its fence signals, not before the next', async () => {
    const { value } = await inThread(async (k) => {
      const fc = fenceChainsInit(k, 64);
      const bad: string[] = [];
      for (let i = 0; i < 64; i++) {
        fc.fences[i]!.signal();
        if (!fc.chains[i]!.isSignaled()) bad.push(`chain[${i}] not signalled`);
        if (i + 1 < 64 && fc.chains[i + 1]!.isSignaled()) bad.push(`chain[${i + 1}] signalled`);
      }
      await settleAll(k, fc.chains);
      fenceChainsFini(fc);
      return bad;
    });
    expect(value).toEqual([]);
  });

  it('signal_backward: no node signals until the first fence does', async () => {
    const { value } = await inThread(async (k) => {
      const fc = fenceChainsInit(k, 64);
      const bad: string[] = [];
      for (let i = 63; i >= 0; i--) {
        fc.fences[i]!.signal();
        if (i > 0 && fc.chains[i]!.isSignaled()) bad.push(`chain[${i}] signalled`);
      }
      for (let i = 0; i < 64; i++)
        if (!fc.chains[i]!.isSignaled()) bad.push(`chain[${i}] not signalled`);
      await settleAll(k, fc.chains);
      fenceChainsFini(fc);
      return bad;
    });
    expect(value).toEqual([]);
  });

  for (const order of ['forward', 'backward', 'random'] as const) {
    it(`wait_${order}: a waiter on the tail of 4096 links wakes once every fence signalled`, async () => {
      const k = new Kernel({ seed: 7, limits: { maxSteps: 10_000_000 } });
      let fc: FenceChains | null = null;
      let woke = -1;
      let signalledAll = -1;
      k.kthreadRun('main', async () => {
        fc = fenceChainsInit(k, 4096);
        const fences = [...fc.fences];
        if (order === 'backward') fences.reverse();
        if (order === 'random') {
          const prng = new Prng(k.seed);
          for (let i = fences.length - 1; i > 0; i--) {
            const j = prng.below(i + 1);
            [fences[i], fences[j]] = [fences[j]!, fences[i]!];
          }
        }
        const tail = fc.tail;
        k.kthreadRun('dmabuf/wait', async () => {
          const r = await tail.wait(false);
          woke = r === 0 && fences.every((f) => f.signalled) ? 1 : 0;
        });
        await k.schedulePoint('yield_to');
        for (const f of fences) f.signal();
        signalledAll = 1;
        await settleAll(k, fc.chains);
      });
      const r = await k.run();
      expect(r.failure).toBeNull();
      expect([woke, signalledAll]).toEqual([1, 1]);
      expect(r.splats).toEqual([]);
      fcSanity(fc);
    });
  }

  it('releases a 200k-link chain without recursion (no stack overflow) and frees every node', async () => {
    const { value } = await inThread(
      (k) => {
        const shared = mockFence(k);
        const first = dmaFenceChainAlloc(k)!;
        dmaFenceChainInit(first, null, shared.get(), 1);
        let tail: DmaFence = first;
        for (let i = 2; i <= 200_000; i++) {
          const c = dmaFenceChainAlloc(k)!;
          dmaFenceChainInit(c, tail, shared.get(), i);
          tail = c;
        }
        const before = shared.refcount.read();
        tail.put();
        const out = [before, shared.refcount.read(), first.refcount.read()];
        shared.signal();
        return out;
      },
      { lockdep: false },
    );
    expect(value).toEqual([200_001, 1, 0]);
  });
});

function fcSanity(fc: FenceChains | null): void {
  expect(fc).not.toBeNull();
}
