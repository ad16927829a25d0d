import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/kernel/index.ts';
import {
  DmaFenceCb,
  dmaFenceArrayCreate,
  dmaFenceArrayFirst,
  dmaFenceArrayForEach,
  dmaFenceArrayNext,
  dmaFenceChainAlloc,
  dmaFenceChainInit,
  dmaFenceContextAlloc,
  dmaFenceIsArray,
  dmaFenceIsContainer,
  dmaFenceMatchContext,
  SEQNO64,
} from '../../src/fence/index.ts';
import type { DmaFenceOps } from '../../src/fence/index.ts';
import { DmaFence } from '../../src/fence/index.ts';
import { SpinLock } from '../../src/kernel/index.ts';
import { inThread, mockFence, mockOps, rules, settle } from './helpers.ts';

describe('dma_fence_array', () => {
  it('wait-all: signals only after every member (via irq_work), with driver/timeline names and 32-bit seqno', async () => {
    const { value, result } = await inThread(async (k) => {
      const m = [mockFence(k, 1), mockFence(k, 2), mockFence(k, 3)];
      const a = dmaFenceArrayCreate(
        k,
        3,
        m.map((f) => f.get()),
        dmaFenceContextAlloc(k, 1),
        7,
        false,
      )!;
      a.enableSwSignaling();
      m[0]!.signal();
      m[2]!.signal();
      const mid = await settle(k, a, 10);
      m[1]!.signal();
      const end = await settle(k, a);
      return [
        mid,
        end,
        a.error,
        a.ops.getDriverName(a),
        a.ops.getTimelineName(a),
        a.seqno,
        (a.flags & SEQNO64) !== 0,
        dmaFenceIsArray(a),
      ];
    });
    expect(value).toEqual([false, true, 0, 'dma_fence_array', 'unbound', 7, false, true]);
    expect(result.splats).toEqual([]);
  });

  it('signal-on-any: the first member signals the array', async () => {
    const { value } = await inThread(async (k) => {
      const m = [mockFence(k, 1), mockFence(k, 2)];
      const a = dmaFenceArrayCreate(
        k,
        2,
        m.map((f) => f.get()),
        9,
        1,
        true,
      )!;
      let woke = 0;
      a.addCallback(new DmaFenceCb(), () => woke++);
      m[1]!.signal();
      await settle(k, a);
      m[0]!.signal();
      return [a.signalled, woke, a.getStatus()];
    });
    expect(value).toEqual([true, 1, 1]);
  });

  it('the pending-error sentinel: error is 1 while pending, then the first member error', async () => {
    const { value } = await inThread(async (k) => {
      const m = [mockFence(k, 1), mockFence(k, 2), mockFence(k, 3)];
      const a = dmaFenceArrayCreate(
        k,
        3,
        m.map((f) => f.get()),
        9,
        1,
        false,
      )!;
      const pending = [a.error, a.getStatus()];
      a.enableSwSignaling();
      m[1]!.setError(-Errno.ETIME);
      m[1]!.signal();
      m[0]!.setError(-Errno.EIO);
      m[0]!.signal();
      m[2]!.signal();
      await settle(k, a);
      return [...pending, a.error, a.getStatus()];
    });
    expect(value).toEqual([1, 0, -Errno.ETIME, -Errno.ETIME]);
  });

  it('members signalled before enabling count down at once; all signalled means signal now', async () => {
    const { value } = await inThread((k) => {
      const m = [mockFence(k, 1), mockFence(k, 2)];
      m[0]!.setError(-Errno.ENODATA);
      m[0]!.signal();
      m[1]!.signal();
      const a = dmaFenceArrayCreate(
        k,
        2,
        m.map((f) => f.get()),
        9,
        1,
        false,
      )!;
      const r = a.addCallback(new DmaFenceCb(), () => {});
      return [r, a.signalled, a.error, a.refcount.read()];
    });
    expect(value).toEqual([-Errno.ENOENT, true, -Errno.ENODATA, 1]);
  });

  it('the signaled op polls members when signalling is not enabled', async () => {
    const { value } = await inThread((k) => {
      const m = [mockFence(k, 1), mockFence(k, 2)];
      const a = dmaFenceArrayCreate(
        k,
        2,
        m.map((f) => f.get()),
        9,
        1,
        false,
      )!;
      m[0]!.signal();
      const one = a.isSignaled();
      m[1]!.signal();
      return [one, a.isSignaled(), a.error];
    });
    expect(value).toEqual([false, true, 0]);
  });

  it('release puts every member; deadlines are forwarded to all', async () => {
    const dl: number[] = [];
    const ops: DmaFenceOps = { ...mockOps, setDeadline: (_f, ns) => dl.push(ns) };
    const { value } = await inThread((k) => {
      const m = [1, 2].map((c) => new DmaFence(k, ops, new SpinLock(k, 'l'), c, 1));
      const a = dmaFenceArrayCreate(
        k,
        2,
        m.map((f) => f.get()),
        9,
        1,
        false,
      )!;
      a.setDeadline(555);
      const before = m.map((f) => f.refcount.read());
      a.put();
      const after = m.map((f) => f.refcount.read());
      m.forEach((f) => f.signal());
      return [before, after];
    });
    expect(value).toEqual([
      [2, 2],
      [1, 1],
    ]);
    expect(dl).toEqual([555, 555]);
  });

  it('members that are containers WARN; match_context and first/next iteration', async () => {
    const { value, result } = await inThread((k) => {
      const m = [mockFence(k, 4), mockFence(k, 4)];
      const inner = dmaFenceArrayCreate(
        k,
        2,
        m.map((f) => f.get()),
        9,
        1,
        false,
      )!;
      const chain = dmaFenceChainAlloc(k)!;
      dmaFenceChainInit(chain, null, mockFence(k, 5), 1);
      const outer = dmaFenceArrayCreate(k, 2, [inner, chain], 10, 1, false)!;
      const it = [...dmaFenceArrayForEach(inner)].map((f) => f.context);
      return [
        dmaFenceMatchContext(inner, 4),
        dmaFenceMatchContext(inner, 5),
        dmaFenceMatchContext(m[0]!, 4),
        dmaFenceIsContainer(chain),
        dmaFenceArrayFirst(m[0]!) === m[0],
        dmaFenceArrayFirst(null),
        dmaFenceArrayNext(inner, 1) === m[1],
        dmaFenceArrayNext(inner, 2),
        dmaFenceArrayNext(m[0]!, 0),
        it,
        outer.numFences,
      ];
    });
    expect(value).toEqual([true, false, true, true, true, null, true, null, null, [4, 4], 2]);
    expect(rules(result)).toEqual(['fence.array_nested_container', 'fence.array_nested_container']);
  });
});
