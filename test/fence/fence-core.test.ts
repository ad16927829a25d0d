import { describe, expect, it } from 'vitest';
import { Errno, Kernel, SpinLock } from '../../src/kernel/index.ts';
import {
  DmaFence,
  DmaFenceCb,
  dmaFenceAllocatePrivateStub,
  dmaFenceContextAlloc,
  dmaFenceGetStub,
  dmaFenceInit64,
  ENABLE_SIGNAL,
  SEQNO64,
  SIGNALED,
  TIMESTAMP,
} from '../../src/fence/index.ts';
import type { DmaFenceOps } from '../../src/fence/index.ts';
import { inThread, mockFence, mockOps, rules } from './helpers.ts';

describe('dma_fence init and contexts', () => {
  it('dma_fence_context_alloc starts at 1 per kernel and reserves consecutive ids', async () => {
    const k1 = new Kernel();
    const k2 = new Kernel();
    expect(dmaFenceContextAlloc(k1, 1)).toBe(1);
    expect(dmaFenceContextAlloc(k1, 4)).toBe(2);
    expect(dmaFenceContextAlloc(k1, 1)).toBe(6);
    expect(dmaFenceContextAlloc(k2, 1)).toBe(1);
    const { result } = await inThread((k) => [
      dmaFenceContextAlloc(k, 0),
      dmaFenceContextAlloc(k, 1),
    ]);
    expect(rules(result)).toEqual(['fence.invalid_argument']);
  });

  it('init gives refcount 1, no flags but SEQNO64 for init64, error 0', () => {
    const k = new Kernel();
    const lock = new SpinLock(k, 'l');
    const f = new DmaFence(k, mockOps, lock, 3, 7);
    expect([
      f.refcount.read(),
      f.flags & (SEQNO64 | SIGNALED | TIMESTAMP | ENABLE_SIGNAL),
      f.error,
      f.context,
      f.seqno,
    ]).toEqual([1, 0, 0, 3, 7]);
    expect(dmaFenceInit64(k, mockOps, lock, 3, 7).flags & SEQNO64).toBe(SEQNO64);
  });

  it('missing mandatory names and unrepresentable seqnos are refused with a clear error', () => {
    const k = new Kernel();
    const lock = new SpinLock(k, 'l');
    expect(
      () => new DmaFence(k, { getDriverName: () => 'x' } as unknown as DmaFenceOps, lock, 1, 1),
    ).toThrow(/mandatory/);
    expect(() => new DmaFence(k, mockOps, lock, 1, -127)).toThrow(/4294967169/);
    expect(() => new DmaFence(k, mockOps, lock, 1, 2 ** 60)).toThrow(/2\^53/);
  });

  it('shared locks: every fence initialised with a lock uses that same lock object', () => {
    const k = new Kernel();
    const lock = new SpinLock(k, 'timeline');
    const a = new DmaFence(k, mockOps, lock, 1, 1);
    const b = new DmaFence(k, mockOps, lock, 1, 2);
    expect(a.lock).toBe(lock);
    expect(b.lock).toBe(lock);
    const c = new DmaFence(k, mockOps, null, 1, 3);
    expect(c.lock).not.toBe(lock);
    expect(c.lock).toBe(c.lock);
  });
});

describe('signalling', () => {
  it('signal returns 0 once then -EINVAL without a splat (the kernel does not WARN)', async () => {
    const { value, result } = await inThread((k) => {
      const f = mockFence(k);
      return [f.signal(), f.signal(), f.signalled];
    });
    expect(value).toEqual([0, -Errno.EINVAL, true]);
    expect(result.splats).toEqual([]);
  });

  it('signal_timestamp stores the timestamp and sets TIMESTAMP; _locked forms need the lock', async () => {
    const { value, result } = await inThread((k) => {
      const f = mockFence(k);
      const r1 = f.signalTimestamp(12345);
      const g = mockFence(k);
      const fl = g.lock.lockIrqsave();
      const r2 = g.signalTimestampLocked(777);
      const r3 = g.signalLocked();
      g.lock.unlockIrqrestore(fl);
      return [r1, f.timestamp(), (f.flags & TIMESTAMP) !== 0, r2, r3, g.timestampNs];
    });
    expect(value).toEqual([0, 12345, true, 0, -Errno.EINVAL, 777]);
    expect(result.splats).toEqual([]);
  });

  it('signal_locked without holding the lock is a lockdep_assert_held report (lockdep on)', async () => {
    const { result } = await inThread((k) => {
      mockFence(k).signalLocked();
    });
    expect(rules(result)).toContain('lockdep.assert_held');
  });

  it('is_signaled polls the signaled op and signals (running callbacks); never enables signalling', async () => {
    let done = false;
    const ops: DmaFenceOps = { ...mockOps, signaled: () => done };
    const { value } = await inThread((k) => {
      const f = new DmaFence(k, ops, new SpinLock(k, 'l'), 1, 1);
      const ran: string[] = [];
      f.addCallback(new DmaFenceCb(), () => ran.push('cb'));
      const before = [f.isSignaled(), f.signalled];
      done = true;
      const after = [f.signalled, f.isSignaled(), f.signalled];
      const g = new DmaFence(k, ops, new SpinLock(k, 'l2'), 1, 2);
      return { before, after, ran, gEnable: (g.flags & ENABLE_SIGNAL) !== 0, g: g.isSignaled() };
    });
    expect(value).toEqual({
      before: [false, false],
      after: [false, true, true],
      ran: ['cb'],
      gEnable: false,
      g: true,
    });
  });

  it('get_status: 0 pending (even with an error set), 1 signalled, the error once signalled with one', async () => {
    const { value, result } = await inThread((k) => {
      const a = mockFence(k);
      const b = mockFence(k);
      b.setError(-Errno.ETIME);
      const s = [a.getStatus(), b.getStatus()];
      a.signal();
      b.signal();
      return [...s, a.getStatus(), b.getStatus()];
    });
    expect(value).toEqual([0, 0, 1, -Errno.ETIME]);
    expect(result.splats).toEqual([]);
  });

  it('set_error warns after signal and for non-negative or out-of-range values, storing it anyway', async () => {
    const { value, result } = await inThread((k) => {
      const a = mockFence(k);
      a.signal();
      a.setError(-Errno.EIO);
      const b = mockFence(k);
      b.setError(5);
      const c = mockFence(k);
      c.setError(-5000);
      return [a.error, b.error, c.error];
    });
    expect(value).toEqual([-Errno.EIO, 5, -5000]);
    expect(rules(result)).toEqual([
      'fence.set_error_after_signal',
      'fence.set_error_invalid',
      'fence.set_error_invalid',
    ]);
  });

  it('timestamp of an unsignalled fence warns and returns the current time', async () => {
    const { value, result } = await inThread((k) => mockFence(k).timestamp());
    expect(value).toBe(0);
    expect(rules(result)).toEqual(['fence.timestamp_unsignalled']);
  });
});

describe('enable signalling and callbacks', () => {
  it('enable_signaling runs at most once, never after signal; false signals the fence at once', async () => {
    let calls = 0;
    let ret = true;
    const ops: DmaFenceOps = { ...mockOps, enableSignaling: () => (calls++, ret) };
    const { value } = await inThread((k) => {
      const f = new DmaFence(k, ops, new SpinLock(k, 'l'), 1, 1);
      f.enableSwSignaling();
      f.enableSwSignaling();
      f.addCallback(new DmaFenceCb(), () => {});
      const first = [calls, f.signalled];
      ret = false;
      const g = new DmaFence(k, ops, new SpinLock(k, 'l2'), 1, 2);
      const add = g.addCallback(new DmaFenceCb(), () => {});
      const h = new DmaFence(k, ops, new SpinLock(k, 'l3'), 1, 3);
      h.signal();
      h.enableSwSignaling();
      return [...first, calls, add, g.signalled, (h.flags & ENABLE_SIGNAL) !== 0, calls];
    });
    expect(value).toEqual([1, false, 2, -Errno.ENOENT, true, true, 2]);
  });

  it('callbacks run in registration (FIFO) order, each exactly once, unlinked before running', async () => {
    const { value } = await inThread((k) => {
      const f = mockFence(k);
      const order: number[] = [];
      const cbs = Array.from({ length: 5 }, () => new DmaFenceCb());
      cbs.forEach((cb, i) => f.addCallback(cb, (_f, c) => order.push(i, c.queued ? 1 : 0)));
      f.signal();
      f.signal();
      return order;
    });
    expect(value).toEqual([0, 0, 1, 0, 2, 0, 3, 0, 4, 0]);
  });

  it('add_callback after signal returns -ENOENT and never calls the function', async () => {
    const { value } = await inThread((k) => {
      const f = mockFence(k);
      f.signal();
      let called = false;
      const cb = new DmaFenceCb();
      const r = f.addCallback(cb, () => (called = true));
      f.signal();
      return [r, called, cb.queued, f.removeCallback(cb)];
    });
    expect(value).toEqual([-Errno.ENOENT, false, false, false]);
  });

  it('remove_callback: true while queued (never called), false after it ran', async () => {
    const { value } = await inThread((k) => {
      const f = mockFence(k);
      let ran = 0;
      const a = new DmaFenceCb();
      const b = new DmaFenceCb();
      f.addCallback(a, () => ran++);
      f.addCallback(b, () => ran++);
      const removed = f.removeCallback(a);
      f.signal();
      return [removed, ran, f.removeCallback(b), f.removeCallback(a)];
    });
    expect(value).toEqual([true, 1, false, false]);
  });

  it('a callback is signalled with the fence lock held, in atomic context', async () => {
    const { value } = await inThread((k) => {
      const f = mockFence(k);
      let seen: unknown[] = [];
      f.addCallback(new DmaFenceCb(), () => {
        seen = [f.lock.owner === k.current, k.current.atomic];
      });
      f.signal();
      return seen;
    });
    expect(value).toEqual([true, true]);
  });

  it('a cb queued on two fences at once is list corruption', async () => {
    const { result } = await inThread((k) => {
      const cb = new DmaFenceCb();
      mockFence(k).addCallback(cb, () => {});
      mockFence(k).addCallback(cb, () => {});
    });
    expect(rules(result)).toEqual(['fence.callback_double_add']);
  });
});

describe('references, release, stubs, describe', () => {
  it('release with queued callbacks warns, sets -EDEADLK and signals so nothing hangs', async () => {
    let released = 0;
    const ops: DmaFenceOps = { ...mockOps, release: () => released++ };
    const { value, result } = await inThread((k) => {
      const f = new DmaFence(k, ops, new SpinLock(k, 'l'), 1, 1);
      let err = 0;
      f.addCallback(new DmaFenceCb(), (fence) => (err = fence.error));
      f.put();
      return [err, released, f.signalled];
    });
    expect(value).toEqual([-Errno.EDEADLK, 1, true]);
    expect(rules(result)).toEqual(['fence.released_with_pending_signals']);
  });

  it('get/put count; get_rcu fails once released; signal after release is a use after free', async () => {
    const { value, result } = await inThread((k) => {
      const f = mockFence(k);
      f.get();
      f.put();
      const alive = f.refcount.read();
      f.put();
      const rcu = f.getRcu();
      f.signal();
      return [alive, rcu];
    });
    expect(value).toEqual([1, null]);
    expect(rules(result)).toEqual(['refcount.use_after_free']);
  });

  it('a fence still referenced at the end of a checked run is a leak; a balanced one is not', async () => {
    const { result } = await inThread(
      (k) => {
        const leaked = mockFence(k, 1, 1);
        leaked.signal();
        const fine = mockFence(k, 2, 1);
        fine.get();
        fine.signal();
        fine.put();
        fine.put();
        dmaFenceGetStub(k).put();
      },
      { leaks: true },
    );
    expect(rules(result)).toEqual(['lifetime.leak']);
    expect(result.splats[0]!.body).toMatch(/dma_fence/);
  });

  it('get_stub: one signalled fence per kernel (context 0), timestamp of first use, a reference per call', async () => {
    const { value } = await inThread(async (k) => {
      await k.schedulePoint('x');
      const a = dmaFenceGetStub(k);
      const b = dmaFenceGetStub(k);
      return [
        a === b,
        a.signalled,
        a.context,
        a.seqno,
        a.refcount.read(),
        (a.flags & ENABLE_SIGNAL) !== 0,
        a.ops.getDriverName(a),
      ];
    });
    expect(value).toEqual([true, true, 0, 0, 3, true, 'stub']);
  });

  it('the stub can be taken during scenario setup, before any thread runs', async () => {
    const k = new Kernel({ seed: 1 });
    const stub = dmaFenceGetStub(k);
    let status = 0;
    k.kthreadRun('t', () => {
      status = stub.getStatus();
      stub.put();
    });
    const r = await k.run();
    expect([stub.signalled, status, r.splats.length]).toEqual([true, 1, 0]);
  });

  it('allocate_private_stub: a new signalled fence each time with the given timestamp', async () => {
    const { value } = await inThread((k) => {
      const a = dmaFenceAllocatePrivateStub(k, 42)!;
      const b = dmaFenceAllocatePrivateStub(k, 43)!;
      return [a !== b, a.signalled, a.timestamp(), b.timestamp(), a.context];
    });
    expect(value).toEqual([true, true, 42, 43, 0]);
  });

  it('describe prints driver, timeline, seqno and state; names detach once signalled', async () => {
    const { value } = await inThread((k) => {
      const f = new DmaFence(
        k,
        { getDriverName: () => 'drv', getTimelineName: () => 'ring0' },
        new SpinLock(k, 'l'),
        4,
        9,
      );
      const before = [f.describe(), f.driverName(), f.timelineName()];
      f.signal();
      return [...before, f.describe()];
    });
    expect(value).toEqual([
      'drv ring0 seq 9 unsignalled\n',
      'drv',
      'ring0',
      'detached-driver signaled-timeline seq 9 signalled\n',
    ]);
  });

  it('set_deadline is forwarded only while the fence is pending', async () => {
    const seen: number[] = [];
    const ops: DmaFenceOps = { ...mockOps, setDeadline: (_f, ns) => seen.push(ns) };
    await inThread((k) => {
      const f = new DmaFence(k, ops, new SpinLock(k, 'l'), 1, 1);
      f.setDeadline(100);
      f.signal();
      f.setDeadline(200);
    });
    expect(seen).toEqual([100]);
  });
});
