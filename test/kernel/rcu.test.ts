import { describe, expect, it } from 'vitest';
import {
  callRcu,
  GFP_KERNEL,
  Kernel,
  kfreeRcu,
  kmalloc,
  msleep,
  Mutex,
  RcuHead,
  rcuBarrier,
  rcuDereference,
  rcuReadLock,
  rcuReadLockHeld,
  rcuReadUnlock,
  synchronizeRcu,
} from '../../src/kernel/index.ts';
import { checkDeterminism, rules, TinyLockdep } from './kernel-test-helpers.ts';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

describe('synchronize_rcu', () => {
  it('waits for a reader that was inside its section when it was called', async () => {
    for (const seed of SEEDS) {
      const k = new Kernel({ seed });
      const log: string[] = [];
      k.kthreadRun('reader', async () => {
        rcuReadLock(k);
        log.push('read-start');
        // Busy inside the section without sleeping: only scheduling points.
        for (let i = 0; i < 5; i++) await k.schedulePoint('spin');
        log.push('read-end');
        rcuReadUnlock(k);
      });
      k.kthreadRun('updater', async () => {
        while (!log.includes('read-start')) await k.schedulePoint('poll');
        await synchronizeRcu(k);
        log.push('gp-done');
      });
      const r = await k.run();
      expect(r.end).toBe('completed');
      expect(log.indexOf('gp-done')).toBeGreaterThan(log.indexOf('read-end'));
      // Awaiting inside the read section is scheduling while atomic.
      expect(new Set(rules(r))).toEqual(new Set(['sched.scheduling_while_atomic']));
    }
  });

  it('does not wait for readers that start after the grace period began', async () => {
    let early = 0;
    for (const seed of SEEDS) {
      const k = new Kernel({ seed });
      let finishedReaders = 0;
      let readersDoneAtGp = -1;
      // Two readers overlap so that some reader is always inside a section.
      for (const name of ['r1', 'r2']) {
        k.kthreadRun(name, async () => {
          for (let i = 0; i < 40; i++) {
            rcuReadLock(k);
            await k.schedulePoint('inside');
            rcuReadUnlock(k);
          }
          finishedReaders++;
        });
      }
      k.kthreadRun('updater', async () => {
        await synchronizeRcu(k);
        readersDoneAtGp = finishedReaders;
      });
      const r = await k.run();
      expect(r.end).toBe('completed');
      if (readersDoneAtGp < 2) early++;
    }
    expect(early).toBeGreaterThan(SEEDS.length / 2);
  });

  it('the grace period timing is a scheduling choice: seeds differ in where it ends', async () => {
    const positions = new Set<number>();
    for (const seed of SEEDS) {
      const k = new Kernel({ seed });
      let ticks = 0;
      let at = -1;
      k.kthreadRun('ticker', async () => {
        for (let i = 0; i < 20; i++) {
          ticks++;
          await k.schedulePoint('tick');
        }
      });
      k.kthreadRun('updater', async () => {
        await synchronizeRcu(k);
        at = ticks;
      });
      await k.run();
      positions.add(at);
    }
    expect(positions.size).toBeGreaterThan(1);
  });

  it('synchronize_rcu inside a read section is reported and never returns', async () => {
    const k = new Kernel({ seed: 1 });
    k.kthreadRun('bad', async () => {
      rcuReadLock(k);
      await synchronizeRcu(k);
      rcuReadUnlock(k);
    });
    const r = await k.run();
    expect(rules(r)).toContain('rcu.sync_in_read_section');
    expect(rules(r)).toContain('sched.might_sleep');
    expect(r.end).toBe('deadlock');
    expect(rules(r)).toContain('rcu.stall');
  });
});

describe('read-side sections', () => {
  it('nest, hold the rcu_read_lock map as a recursive reader, and make sleeping a might_sleep splat', async () => {
    const v = new TinyLockdep();
    const k = new Kernel({ seed: 1, validator: v });
    const m = new Mutex(k, 'M');
    const depths: number[] = [];
    k.kthreadRun('t', async () => {
      rcuReadLock(k);
      rcuReadLock(k);
      depths.push(k.current.rcuReadDepth, k.current.held.length);
      rcuReadUnlock(k);
      depths.push(k.current.rcuReadDepth);
      expect(rcuReadLockHeld(k)).toBe(true);
      await m.lock(); // sleeping in the section
      m.unlock();
      rcuReadUnlock(k);
      depths.push(k.current.rcuReadDepth, k.current.held.length);
      expect(rcuReadLockHeld(k)).toBe(false);
    });
    const r = await k.run();
    expect(depths).toEqual([2, 2, 1, 0, 0]);
    expect(r.splats[0]!.rule).toBe('sched.might_sleep');
    expect(r.splats[0]!.body).toContain('RCU nest depth: 1');
    expect(v.acquisitions.filter((a) => a.lock === 'rcu_read_lock').length).toBe(2);
  });

  it('an unbalanced unlock is a bad unlock balance', async () => {
    const k = new Kernel({ seed: 1 });
    k.kthreadRun('t', () => {
      rcuReadUnlock(k);
    });
    const r = await k.run();
    expect(rules(r)).toEqual(['lockdep.bad_unlock_balance']);
  });

  it('rcu_dereference outside a read section is suspicious RCU usage (once per site)', async () => {
    const k = new Kernel({ seed: 1 });
    const obj = { v: 1 };
    k.kthreadRun('t', () => {
      rcuDereference(k, obj, 'site-a');
      rcuDereference(k, obj, 'site-a');
      rcuReadLock(k);
      expect(rcuDereference(k, obj, 'site-b')).toBe(obj);
      rcuReadUnlock(k);
    });
    const r = await k.run();
    expect(rules(r)).toEqual(['rcu.suspicious_usage']);
  });
});

describe('call_rcu / kfree_rcu / rcu_barrier', () => {
  it('callbacks run in softirq context, after the grace period, in queue order', async () => {
    let exercised = 0;
    for (const seed of SEEDS) {
      const k = new Kernel({ seed });
      const log: string[] = [];
      let inside = false;
      let insideAtQueue = false;
      k.kthreadRun('reader', async () => {
        rcuReadLock(k);
        inside = true;
        await k.schedulePoint('inside');
        await k.schedulePoint('inside');
        log.push('reader-out');
        inside = false;
        rcuReadUnlock(k);
      });
      k.kthreadRun('updater', async () => {
        await k.schedulePoint('let the reader in');
        insideAtQueue = inside;
        for (const n of ['a', 'b', 'c']) {
          callRcu(k, new RcuHead(n), (h) => log.push(`${h.name}:${k.current.context}`));
        }
        await rcuBarrier(k);
        log.push('barrier');
      });
      const r = await k.run();
      expect(r.end).toBe('completed');
      const cbs = log.filter((l) => l.includes(':'));
      expect(cbs).toEqual(['a:softirq', 'b:softirq', 'c:softirq']);
      expect(log.indexOf('barrier')).toBeGreaterThan(log.indexOf('c:softirq'));
      if (insideAtQueue) {
        exercised++;
        // The reader was inside when the callbacks were queued: they ran after it left.
        expect(log.indexOf('a:softirq')).toBeGreaterThan(log.indexOf('reader-out'));
      }
    }
    expect(exercised).toBeGreaterThan(0);
  });

  it('queueing an rcu_head twice is reported; rcu_barrier with nothing queued returns', async () => {
    const k = new Kernel({ seed: 1 });
    let runs = 0;
    const head = new RcuHead('obj');
    k.kthreadRun('t', async () => {
      await rcuBarrier(k);
      callRcu(k, head, () => runs++);
      callRcu(k, head, () => runs++);
      await rcuBarrier(k);
    });
    const r = await k.run();
    expect(runs).toBe(1);
    expect(rules(r)).toEqual(['rcu.double_call_rcu']);
  });

  it('kfree_rcu frees after a grace period; twice is a double free', async () => {
    const k = new Kernel({ seed: 1 });
    const freedAfterBarrier: boolean[] = [];
    k.kthreadRun('t', async () => {
      const b = kmalloc(k, 32, GFP_KERNEL)!;
      kfreeRcu(k, b);
      freedAfterBarrier.push(b.freed);
      await rcuBarrier(k);
      freedAfterBarrier.push(b.freed);
      kfreeRcu(k, b);
      await rcuBarrier(k);
    });
    const r = await k.run();
    expect(freedAfterBarrier).toEqual([false, true]);
    expect(rules(r)).toEqual(['mm.double_free']);
  });

  it('a reader that never leaves stalls the grace period (reported at the end)', async () => {
    const k = new Kernel({ seed: 1 });
    let inside = false;
    k.kthreadRun('stuck', async () => {
      const m = new Mutex(k, 'never');
      await m.lock();
      rcuReadLock(k);
      inside = true;
      await m.lock(); // AA inside the read section: blocked forever
    });
    k.kthreadRun('updater', async () => {
      while (!inside) await k.schedulePoint('poll');
      callRcu(k, new RcuHead('x'), () => {});
    });
    const r = await k.run();
    expect(rules(r)).toContain('rcu.stall');
    expect(r.splats.find((s) => s.rule === 'rcu.stall')!.body).toContain('stuck');
  });
});

describe('RCU determinism', () => {
  it('same seed, same stream; replay gives the same stream', async () => {
    const setup = (k: Kernel): void => {
      for (const name of ['r1', 'r2']) {
        k.kthreadRun(name, async () => {
          for (let i = 0; i < 3; i++) {
            rcuReadLock(k);
            rcuReadUnlock(k);
            await msleep(k, 1);
          }
        });
      }
      k.kthreadRun('u', async () => {
        callRcu(k, new RcuHead('h'), () => {});
        await synchronizeRcu(k);
        await rcuBarrier(k);
      });
    };
    const d = await checkDeterminism(setup, { seed: 11 });
    expect(d.again).toBe(d.hash);
    expect(d.replayHash).toBe(d.hash);
  });
});
