import { describe, expect, it } from 'vitest';
import { Errno, Kernel, msleep, SpinLock } from '../../src/kernel/index.ts';
import { DmaFence, DmaFenceCb, dmaFencePublish } from '../../src/fence/index.ts';
import type { DmaFenceOps } from '../../src/fence/index.ts';
import { inThread, mockFence, mockOps, rules } from './helpers.ts';

const ringOps: DmaFenceOps = {
  getDriverName: () => 'ring',
  getTimelineName: () => 'ring0',
  inOrder: true,
};

describe('fence.context_out_of_order', () => {
  it('in-order timelines: signalling a later seqno while an earlier one is pending is reported', async () => {
    const { result } = await inThread((k) => {
      const lock = new SpinLock(k, 'ring');
      const f = [1, 2, 3].map((s) => new DmaFence(k, ringOps, lock, 5, s));
      f[0]!.signal();
      f[2]!.signal();
      f[1]!.signal();
    });
    expect(rules(result)).toEqual(['fence.context_out_of_order']);
    expect(result.splats[0]!.data).toMatchObject({ context: 5, seqno: 3, pending: [2] });
  });

  it('uses the fence comparison rule: a 32-bit timeline wrapping is in order', async () => {
    const { result } = await inThread((k) => {
      const lock = new SpinLock(k, 'ring');
      const f = [0xfffffffe, 0xffffffff, 0, 1].map((s) => new DmaFence(k, ringOps, lock, 5, s));
      for (const x of f) x.signal();
    });
    expect(result.splats).toEqual([]);
  });

  it('drivers that do not declare in-order timelines are not checked; other contexts never interfere', async () => {
    const { result } = await inThread((k) => {
      const lock = new SpinLock(k, 'x');
      const a = [1, 2].map((s) => new DmaFence(k, mockOps, lock, 5, s));
      a[1]!.signal();
      a[0]!.signal();
      const b = new DmaFence(k, ringOps, lock, 6, 10);
      const c = new DmaFence(k, ringOps, lock, 7, 1);
      b.signal();
      c.signal();
    });
    expect(result.splats).toEqual([]);
  });
});

describe('fence.signalled_early', () => {
  it('a fence signalled without error before the hardware completed is reported; with an error it is not', async () => {
    let completed = 0;
    const ops: DmaFenceOps = { ...mockOps, hwCompleted: (f) => f.seqno <= completed };
    const { result } = await inThread((k) => {
      const lock = new SpinLock(k, 'hw');
      const a = new DmaFence(k, ops, lock, 1, 1);
      const b = new DmaFence(k, ops, lock, 1, 2);
      const c = new DmaFence(k, ops, lock, 1, 3);
      completed = 1;
      a.signal();
      b.signal();
      c.setError(-Errno.ECANCELED);
      c.signal();
    });
    expect(rules(result)).toEqual(['fence.signalled_early']);
    expect(result.splats[0]!.data).toMatchObject({ seqno: 2 });
  });
});

describe('fence.indefinite', () => {
  it('an unsignalled fence someone waited on is reported at the end of the run', async () => {
    const k = new Kernel({ seed: 1 });
    const f = mockFence(k, 3, 9);
    k.kthreadRun('waiter', async () => {
      await f.waitTimeout(false, 5);
    });
    const r = await k.run();
    expect(rules(r)).toEqual(['fence.indefinite']);
    expect(r.splats[0]!.body).toMatch(/mock:mock:3:9/);
    expect(r.splats[0]!.thread).toBeNull();
  });

  it('a published fence still pending is reported; signalled or released ones are not', async () => {
    const { result } = await inThread((k) => {
      const a = mockFence(k, 1, 1);
      const b = mockFence(k, 2, 1);
      const c = mockFence(k, 3, 1);
      for (const f of [a, b, c]) dmaFencePublish(f);
      b.signal();
      c.put();
    });
    expect(rules(result)).toEqual(['fence.indefinite']);
    expect(result.splats[0]!.data).toMatchObject({
      fences: [{ context: 1, seqno: 1, driver: 'mock' }],
    });
  });

  it('fences nobody waited on or published are not reported (a poll with zero timeout is not a wait)', async () => {
    const { result } = await inThread(async (k) => {
      const a = mockFence(k);
      a.addCallback(new DmaFenceCb(), () => {});
      await a.waitTimeout(false, 0);
      a.removeCallback(new DmaFenceCb());
    });
    expect(result.splats).toEqual([]);
  });

  it('a fence signalled late by another thread is not indefinite', async () => {
    const k = new Kernel({ seed: 1 });
    const f = mockFence(k);
    k.kthreadRun('waiter', async () => {
      await f.waitTimeout(false, 5);
    });
    k.kthreadRun('late', async () => {
      await msleep(k, 50);
      f.signal();
    });
    const r = await k.run();
    expect(r.splats).toEqual([]);
  });
});
