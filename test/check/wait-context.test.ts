/**
 * The wait-context check: what each context and each held lock allows
 * (the selftest matrix of reference 3.5, with PROVE_RAW_LOCK_NESTING).
 */
import { describe, expect, it } from 'vitest';
import { lockMapAcquire, lockMapRelease } from '../../src/check/index.ts';
import { LdWait, LockdepMap, Mutex, rcuReadLock, rcuReadUnlock, SpinLock } from '../../src/kernel/index.ts';
import type { ContextKind, Kernel } from '../../src/kernel/index.ts';
import { rulesOf, runChecked } from './helpers.ts';

type Inner = 'raw' | 'spin' | 'mutex-trylock' | 'pseudo';

function take(k: Kernel, what: Inner): void {
  if (what === 'raw') {
    const l = new SpinLock(k, 'raw', { raw: true });
    l.lock();
    l.unlock();
  } else if (what === 'spin') {
    const l = new SpinLock(k, 'spin');
    l.lock();
    l.unlock();
  } else if (what === 'mutex-trylock') {
    const m = new Mutex(k, 'mutex');
    if (m.trylock()) m.unlock();
  } else {
    const map = new LockdepMap('pseudo', 'pseudo', LdWait.INV);
    lockMapAcquire(k, map);
    lockMapRelease(k, map);
  }
}

async function inContext(ctx: Exclude<ContextKind, 'process'> | 'hardirq-hard', what: Inner): Promise<string[]> {
  const r = await runChecked((k) => {
    const t = k.spawnContext(ctx === 'hardirq-hard' ? 'hardirq' : ctx, 'ctx', () => {
      take(k, what);
    });
    t.hardirqThreaded = ctx === 'hardirq';
  });
  return rulesOf(r);
}

describe('wait context', () => {
  it('allows raw spinlocks and spinlock_t in threadable hardirq and softirq contexts', async () => {
    for (const ctx of ['hardirq', 'softirq'] as const) {
      expect(await inContext(ctx, 'raw')).toEqual([]);
      expect(await inContext(ctx, 'spin')).toEqual([]);
    }
  });

  it('allows only raw spinlocks in a non-threaded hard IRQ (hard hrtimer)', async () => {
    expect(await inContext('hardirq-hard', 'raw')).toEqual([]);
    expect(await inContext('hardirq-hard', 'spin')).toEqual(['lockdep.invalid_wait_context']);
  });

  it('does not check trylocks or pseudo-locks', async () => {
    expect(await inContext('hardirq-hard', 'mutex-trylock')).toEqual([]);
    expect(await inContext('hardirq-hard', 'pseudo')).toEqual([]);
  });

  it('reports a mutex in IRQ context (with might_sleep)', async () => {
    const r = await runChecked((k) => {
      const m = new Mutex(k, 'M');
      const t = k.spawnContext('softirq', 'timer', async () => {
        await m.lock();
        m.unlock();
      });
      t.hardirqThreaded = false;
    });
    expect(new Set(rulesOf(r))).toEqual(new Set(['sched.might_sleep', 'lockdep.invalid_wait_context']));
  });

  it('reports spinlock_t under a raw spinlock, and allows the reverse', async () => {
    const bad = await runChecked((k) => {
      const raw = new SpinLock(k, 'raw', { raw: true });
      const spin = new SpinLock(k, 'spin');
      k.kthreadRun('t', () => {
        raw.lock();
        spin.lock();
        spin.unlock();
        raw.unlock();
      });
    });
    expect(rulesOf(bad)).toEqual(['lockdep.invalid_wait_context']);
    expect(bad.splats[0]!.body).toContain('context-{4:4}');
    const good = await runChecked((k) => {
      const raw = new SpinLock(k, 'raw', { raw: true });
      const spin = new SpinLock(k, 'spin');
      k.kthreadRun('t', () => {
        spin.lock();
        raw.lock();
        raw.unlock();
        spin.unlock();
      });
    });
    expect(rulesOf(good)).toEqual([]);
  });

  it('reports a mutex inside an RCU read-side section, and allows spinlock_t there', async () => {
    const r = await runChecked((k) => {
      const m = new Mutex(k, 'M');
      const s = new SpinLock(k, 'S');
      k.kthreadRun('t', async () => {
        rcuReadLock(k);
        s.lock();
        s.unlock();
        await m.lock(); // sleeps in atomic context
        m.unlock();
        rcuReadUnlock(k);
      });
    });
    expect(new Set(rulesOf(r))).toEqual(new Set(['sched.might_sleep', 'lockdep.invalid_wait_context']));
  });

  it('allows everything inside a mutex', async () => {
    const r = await runChecked((k) => {
      const m = new Mutex(k, 'M');
      const m2 = new Mutex(k, 'M2');
      k.kthreadRun('t', async () => {
        await m.lock();
        await m2.lock();
        take(k, 'spin');
        take(k, 'raw');
        m2.unlock();
        m.unlock();
      });
    });
    expect(rulesOf(r)).toEqual([]);
  });
});
