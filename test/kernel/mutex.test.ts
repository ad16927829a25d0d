import { describe, expect, it } from 'vitest';
import { Errno, Kernel, Mutex, SpinLock, condResched, msleep } from '../../src/kernel/index.ts';
import type { RunResult } from '../../src/kernel/index.ts';

const rules = (r: RunResult): string[] => r.splats.map((s) => s.rule);

describe('mutex', () => {
  it('excludes other threads (many seeds) and wakes waiters on unlock', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const k = new Kernel({ seed });
      const m = new Mutex(k, 'm');
      let inside = 0;
      let entries = 0;
      for (let i = 0; i < 4; i++) {
        k.kthreadRun(`t${i}`, async () => {
          for (let j = 0; j < 3; j++) {
            await m.lock();
            expect(++inside).toBe(1);
            entries++;
            await condResched(k);
            inside--;
            m.unlock();
          }
        });
      }
      const r = await k.run();
      expect(r.end).toBe('completed');
      expect(r.failure).toBeNull();
      expect(entries).toBe(12);
    }
  });

  it('trylock takes a free mutex, fails on a held one (also when the caller holds it), never sleeps', async () => {
    const k = new Kernel();
    const m = new Mutex(k, 'm');
    const got: boolean[] = [];
    k.kthreadRun('a', async (self) => {
      const before = self.points;
      got.push(m.trylock());
      expect(self.held[0]!.trylock).toBe(true);
      got.push(m.trylock());
      expect(self.points).toBe(before);
      await msleep(k, 5);
      m.unlock();
    });
    k.kthreadRun('b', async () => {
      await msleep(k, 1);
      got.push(m.trylock());
      await msleep(k, 10);
      got.push(m.trylock());
      m.unlock();
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
    expect(got).toEqual([true, false, false, true]);
  });

  it('lock_nested records the subclass; lock_nest_lock records the outer map', async () => {
    const k = new Kernel();
    const outer = new Mutex(k, 'outer');
    const a = new Mutex(k, 'a', { key: 'same-class' });
    const b = new Mutex(k, 'b', { key: 'same-class' });
    k.kthreadRun('t', async (self) => {
      await a.lock();
      await b.lockNested(1);
      expect(self.held.map((h) => [h.map.name, h.map.key, h.subclass])).toEqual([
        ['a', 'same-class', 0],
        ['b', 'same-class', 1],
      ]);
      b.unlock();
      a.unlock();
      await outer.lock();
      await a.lockNestLock(outer.dep);
      expect(self.held[1]!.nestLock).toBe(outer.dep);
      a.unlock();
      outer.unlock();
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
  });

  it('lock_interruptible returns -EINTR when signalled while waiting, holding nothing', async () => {
    const k = new Kernel();
    const m = new Mutex(k, 'm');
    let got = NaN;
    k.kthreadRun('holder', async () => {
      await m.lock();
      await msleep(k, 10);
      m.unlock();
    });
    const w = k.kthreadRun('waiter', async (self) => {
      await msleep(k, 1);
      got = await m.lockInterruptible();
      expect(self.held).toEqual([]);
      expect(m.owner?.name).toBe('holder');
    });
    k.kthreadRun('killer', async () => {
      await msleep(k, 3);
      k.sendSignal(w);
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
    expect(got).toBe(-Errno.EINTR);
  });

  it('lock_interruptible takes a free lock even with a signal pending (trylock comes first)', async () => {
    const k = new Kernel();
    const m = new Mutex(k, 'm');
    const got: number[] = [];
    const w = k.kthreadRun('waiter', async () => {
      await msleep(k, 1);
      got.push(await m.lockInterruptible()); // blocked, then the lock is freed and a signal comes at once
      m.unlock();
      got.push(await m.lockInterruptible()); // free, signal still pending
      m.unlock();
    });
    k.kthreadRun('holder', async () => {
      await m.lock();
      await msleep(k, 5);
      // Signal and release in one atomic stretch: the waiter sees both when it runs.
      k.sendSignal(w);
      m.unlock();
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
    expect(got).toEqual([0, 0]);
  });

  it('mutex_unlock by a non-owner: lockdep reports bad unlock balance first and the DEBUG_MUTEXES owner WARN stays silent', async () => {
    const k = new Kernel();
    const m = new Mutex(k, 'm');
    k.kthreadRun('owner', async () => {
      await m.lock();
      await msleep(k, 5);
      m.unlock();
    });
    k.kthreadRun('intruder', async () => {
      await msleep(k, 1);
      m.unlock();
    });
    const r = await k.run();
    expect(r.splats.map((s) => `${s.thread}:${s.rule}`)).toEqual([
      'intruder:lockdep.bad_unlock_balance',
      // The intruder did release the mutex; the owner still holds it for lockdep, so its
      // own unlock meets the owner check (the kernel's lockdep would be off by then).
      'owner:mutex.wrong_owner',
    ]);
    expect(r.splats[0]!.headline).toBe('WARNING: bad unlock balance detected!');
  });

  it('mutex_lock under a spinlock is a might_sleep splat', async () => {
    const k = new Kernel();
    const m = new Mutex(k, 'm');
    const s = new SpinLock(k, 's');
    k.kthreadRun('t', async () => {
      s.lock();
      await m.lock();
      s.unlock();
      m.unlock();
    });
    const r = await k.run();
    expect(rules(r)).toEqual(['sched.might_sleep']);
  });
});
