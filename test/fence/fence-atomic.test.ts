import { describe, expect, it } from 'vitest';
import {
  Errno,
  GFP_ATOMIC,
  GFP_KERNEL,
  Kernel,
  kmalloc,
  Mutex,
  SpinLock,
} from '../../src/kernel/index.ts';
import type { HeldLock, LockdepMap, LockValidator, Thread } from '../../src/kernel/index.ts';
import { DmaFence, DmaFenceCb } from '../../src/fence/index.ts';
import type { DmaFenceOps } from '../../src/fence/index.ts';
import { dmaFenceBeginSignalling, dmaFenceEndSignalling } from '../../src/check/index.ts';
import { mockFence, mockOps, rules } from './helpers.ts';

/** Records every acquisition: lock name, read mode, what was held. */
class Recorder implements LockValidator {
  readonly log: string[] = [];
  acquire(_t: Thread, h: HeldLock): void {
    this.log.push(`+${h.map.name}${h.read ? '(r)' : ''}`);
  }
  release(_t: Thread, h: HeldLock): void {
    this.log.push(`-${h.map.name}`);
  }
  badUnlock(_t: Thread, m: LockdepMap): void {
    this.log.push(`bad ${m.name}`);
  }
}

async function run(body: (k: Kernel) => void | Promise<void>, opts: { lockdep?: boolean } = {}) {
  const rec = new Recorder();
  const k = new Kernel({ seed: 1, validator: opts.lockdep === false ? null : rec });
  k.kthreadRun('test', async () => {
    await body(k);
  });
  const r = await k.run();
  return { r, rec };
}

describe('callbacks run in atomic context under the fence lock', () => {
  for (const lockdep of [true, false]) {
    it(`a callback that may sleep is reported (lockdep ${lockdep ? 'on' : 'off'})`, async () => {
      const { r } = await run(
        (k) => {
          const f = mockFence(k);
          f.addCallback(new DmaFenceCb(), () => {
            kmalloc(k, 64, GFP_KERNEL);
          });
          f.signal();
        },
        { lockdep },
      );
      expect(rules(r)).toContain('sched.might_sleep');
    });

    it(`a callback signalling a fence on the same lock with the unlocked form is spinlock recursion (lockdep ${lockdep ? 'on' : 'off'})`, async () => {
      const { r } = await run(
        (k) => {
          const lock = new SpinLock(k, 'timeline');
          const a = new DmaFence(k, mockOps, lock, 1, 1);
          const b = new DmaFence(k, mockOps, lock, 1, 2);
          a.addCallback(new DmaFenceCb(), () => {
            b.signal();
          });
          a.signal();
        },
        { lockdep },
      );
      expect(rules(r)).toContain('spinlock.recursion');
    });

    it(`the _locked form from the callback is fine (lockdep ${lockdep ? 'on' : 'off'})`, async () => {
      let out: unknown[] = [];
      const { r } = await run(
        (k) => {
          const lock = new SpinLock(k, 'timeline');
          const a = new DmaFence(k, mockOps, lock, 1, 1);
          const b = new DmaFence(k, mockOps, lock, 1, 2);
          a.addCallback(new DmaFenceCb(), () => {
            out.push(b.signalLocked(), kmalloc(k, 8, GFP_ATOMIC) !== null);
          });
          a.signal();
          out = [...out, b.signalled, k.current.atomic];
        },
        { lockdep },
      );
      expect(r.splats).toEqual([]);
      expect(out).toEqual([0, true, true, false]);
    });
  }

  it('awaiting inside a callback is scheduling while atomic', async () => {
    const { r } = await run(async (k) => {
      const f = mockFence(k);
      const other = new Mutex(k, 'm');
      await other.lock();
      other.unlock();
      f.addCallback(new DmaFenceCb(), () => {
        void k.schedulePoint('in-callback');
      });
      f.signal();
    });
    expect(rules(r)).toContain('sched.scheduling_while_atomic');
  });
});

describe('signalling annotations', () => {
  it('signal takes dma_fence_map as a reader around the fence lock', async () => {
    const { rec } = await run((k) => {
      mockFence(k).signal();
    });
    expect(rec.log).toEqual(['+dma_fence_map(r)', '+mock', '-mock', '-dma_fence_map']);
  });

  it('signal inside an open signalling section does not nest the map', async () => {
    const { rec } = await run((k) => {
      const c = dmaFenceBeginSignalling(k);
      mockFence(k).signal();
      dmaFenceEndSignalling(k, c);
    });
    expect(rec.log).toEqual(['+dma_fence_map(r)', '+mock', '-mock', '-dma_fence_map']);
  });

  it('wait_timeout takes dma_fence_map exclusively before looking at the fence', async () => {
    const ops: DmaFenceOps = {
      ...mockOps,
      enableSignaling: () => false,
    };
    const seen: string[] = [];
    const { rec } = await run(async (k) => {
      const f = new DmaFence(k, ops, new SpinLock(k, 'l'), 1, 1);
      const r = await f.waitTimeout(false, 0);
      seen.push(String(r));
    });
    expect(rec.log.slice(0, 2)).toEqual(['+dma_fence_map', '-dma_fence_map']);
    expect(seen).toEqual(['1']);
  });

  it('without lockdep the annotations are no-ops (as in a !CONFIG_LOCKDEP kernel); the fence lock is still held', async () => {
    const k = new Kernel({ seed: 1 });
    const seen: unknown[] = [];
    k.kthreadRun('t', async () => {
      const f = mockFence(k);
      f.addCallback(new DmaFenceCb(), () =>
        seen.push(k.current.held.map((h) => h.map.name).join(',')),
      );
      f.signal();
      seen.push(await f.waitTimeout(false, 0), k.current.held.length);
    });
    await k.run();
    expect(seen).toEqual(['mock', 1, 0]);
  });

  it('lock A held around a wait, and taken in a signalling section: a lockdep cycle', async () => {
    const { createCheckedKernel } = await import('../../src/check/index.ts');
    const k = createCheckedKernel({ seed: 1 });
    const m = new Mutex(k, 'A');
    const f = mockFence(k);
    k.kthreadRun('signaller', async () => {
      const c = dmaFenceBeginSignalling(k);
      await m.lock();
      m.unlock();
      f.signal();
      dmaFenceEndSignalling(k, c);
    });
    k.kthreadRun('waiter', async () => {
      await m.lock();
      await f.waitTimeout(false, 10);
      m.unlock();
    });
    const r = await k.run();
    expect(rules(r)).toContain('lockdep.circular');
    expect(r.failure).toBeNull();
    expect(Errno.EINVAL).toBe(22);
  });
});
