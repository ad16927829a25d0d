/**
 * Classic lock-order cycles of two, three and four classes across lock
 * kinds, the strong-path rule for readers, trylocks, and how edges are
 * recorded (top lock only, redundant edges skipped, chains cached).
 */
import { describe, expect, it } from 'vitest';
import { createCheckedKernel, lockdepOf, lockMapAcquireRead, lockMapRelease } from '../../src/check/index.ts';
import type { Lockdep } from '../../src/check/index.ts';
import { allocWorkqueue, Completion, flushWork, initWork, LdWait, LockdepMap, Mutex, queueWork, RwSemaphore, SpinLock } from '../../src/kernel/index.ts';
import type { Kernel } from '../../src/kernel/index.ts';
import { rulesOf, runChecked, splatsOf } from './helpers.ts';

/** Runs `steps` one after the other in separate threads (no runtime deadlock possible). */
function sequential(k: Kernel, steps: (() => Promise<void> | void)[]): void {
  let prev: Completion | null = null;
  steps.forEach((step, i) => {
    const wait = prev;
    const done = new Completion(k, `step${i}`);
    k.kthreadRun(`t${i}`, async () => {
      if (wait) await wait.waitForCompletion();
      await step();
      done.complete();
    });
    prev = done;
  });
}

describe('circular dependencies', () => {
  it('reports a two-mutex ABBA cycle without the deadlock happening', async () => {
    const r = await runChecked((k) => {
      const a = new Mutex(k, 'A');
      const b = new Mutex(k, 'B');
      sequential(k, [
        async () => { await a.lock(); await b.lock(); b.unlock(); a.unlock(); },
        async () => { await b.lock(); await a.lock(); a.unlock(); b.unlock(); },
      ]);
    });
    expect(r.end).toBe('completed');
    expect(rulesOf(r)).toEqual(['lockdep.circular']);
    expect(splatsOf(r, 'lockdep.circular')[0]!.data!.cycle).toEqual(['A', 'B', 'A']);
  });

  it('reports a two-spinlock cycle', async () => {
    const r = await runChecked((k) => {
      const a = new SpinLock(k, 'sa');
      const b = new SpinLock(k, 'sb');
      sequential(k, [
        () => { a.lock(); b.lock(); b.unlock(); a.unlock(); },
        () => { b.lock(); a.lock(); a.unlock(); b.unlock(); },
      ]);
    });
    expect(rulesOf(r)).toEqual(['lockdep.circular']);
  });

  it('reports a three-lock cycle mutex → rwsem(write) → spinlock with "Chain exists of"', async () => {
    const r = await runChecked((k) => {
      const m = new Mutex(k, 'M');
      const rw = new RwSemaphore(k, 'RW');
      const m2 = new Mutex(k, 'M2');
      sequential(k, [
        async () => { await m.lock(); await rw.downWrite(); rw.upWrite(); m.unlock(); },
        async () => { await rw.downWrite(); await m2.lock(); m2.unlock(); rw.upWrite(); },
        async () => { await m2.lock(); await m.lock(); m.unlock(); m2.unlock(); },
      ]);
    });
    const s = splatsOf(r, 'lockdep.circular');
    expect(rulesOf(r)).toEqual(['lockdep.circular']);
    expect(s[0]!.body).toContain('Chain exists of:\n  M --> RW --> M2');
  });

  it('reports a four-lock cycle through a non-recursive reader (down_read)', async () => {
    const r = await runChecked((k) => {
      const a = new Mutex(k, 'A');
      const b = new RwSemaphore(k, 'B');
      const c = new Mutex(k, 'C');
      const d = new RwSemaphore(k, 'D');
      sequential(k, [
        async () => { await a.lock(); await b.downWrite(); b.upWrite(); a.unlock(); },
        async () => { await b.downWrite(); await c.lock(); c.unlock(); b.upWrite(); },
        async () => { await c.lock(); await d.downRead(); d.upRead(); c.unlock(); },
        async () => { await d.downRead(); await a.lock(); a.unlock(); d.upRead(); },
      ]);
    });
    expect(rulesOf(r)).toEqual(['lockdep.circular']);
    expect(splatsOf(r, 'lockdep.circular')[0]!.data!.cycle).toEqual(['A', 'B', 'C', 'D', 'A']);
  });

  it('reports a four-spinlock cycle', async () => {
    const r = await runChecked((k) => {
      const l = ['s0', 's1', 's2', 's3'].map((n) => new SpinLock(k, n, { key: n }));
      sequential(
        k,
        [0, 1, 2, 3].map((i) => () => {
          const x = l[i]!;
          const y = l[(i + 1) % 4]!;
          x.lock();
          y.lock();
          y.unlock();
          x.unlock();
        }),
      );
    });
    expect(rulesOf(r)).toEqual(['lockdep.circular']);
  });

  it('reports read-then-lock against lock-then-read for rwsem readers (non-recursive)', async () => {
    const r = await runChecked((k) => {
      const rw = new RwSemaphore(k, 'RW');
      const m = new Mutex(k, 'M');
      sequential(k, [
        async () => { await rw.downRead(); await m.lock(); m.unlock(); rw.upRead(); },
        async () => { await m.lock(); await rw.downRead(); rw.upRead(); m.unlock(); },
      ]);
    });
    expect(rulesOf(r)).toEqual(['lockdep.circular']);
  });

  it('does not report the same cycle through a recursive reader (R then S is not a strong path)', async () => {
    const r = await runChecked((k) => {
      const rec = new LockdepMap('rec_read', 'rec_read', LdWait.INV);
      const m = new Mutex(k, 'M');
      sequential(k, [
        async () => { lockMapAcquireRead(k, rec); await m.lock(); m.unlock(); lockMapRelease(k, rec); },
        async () => { await m.lock(); lockMapAcquireRead(k, rec); lockMapRelease(k, rec); m.unlock(); },
      ]);
    });
    expect(rulesOf(r)).toEqual([]);
  });

  it('does not report recursive read-after-read of one class', async () => {
    const r = await runChecked((k) => {
      const rec = new LockdepMap('rec_read', 'rec_read', LdWait.INV);
      k.kthreadRun('t', () => {
        lockMapAcquireRead(k, rec);
        lockMapAcquireRead(k, rec);
        lockMapRelease(k, rec);
        lockMapRelease(k, rec);
      });
    });
    expect(rulesOf(r)).toEqual([]);
  });

  it('reports down_read twice on one rwsem as recursive locking (readers are not recursive)', async () => {
    const r = await runChecked((k) => {
      const rw = new RwSemaphore(k, 'RW');
      k.kthreadRun('t', async () => {
        await rw.downRead();
        await rw.downRead();
        rw.upRead();
        rw.upRead();
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.recursive']);
  });
});

describe('workqueue maps', () => {
  it('reports "hold L, flush W" against "work W takes L"', async () => {
    const r = await runChecked((k) => {
      const wq = allocWorkqueue(k, 'events');
      const l = new Mutex(k, '&dev->lock');
      // Two items of one class (one INIT_WORK site): only the first takes L,
      // so the run itself never deadlocks.
      const takesL = initWork(k, async () => {
        await l.lock();
        l.unlock();
      }, 'reset_work', { key: 'reset_work' });
      const other = initWork(k, () => undefined, 'reset_work', { key: 'reset_work' });
      k.kthreadRun('t', async () => {
        queueWork(wq, takesL);
        await flushWork(takesL); // the item ran and took L: work class → L
        queueWork(wq, other);
        await l.lock();
        await flushWork(other); // L → work class
        l.unlock();
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.circular']);
    expect(splatsOf(r, 'lockdep.circular')[0]!.data!.cycle).toEqual(['(work_completion)reset_work', '&dev->lock', '(work_completion)reset_work']);
  });
});

describe('trylocks', () => {
  it('a trylock records no edge into the lock, so its inverse order is clean', async () => {
    const r = await runChecked((k) => {
      const a = new Mutex(k, 'A');
      const b = new Mutex(k, 'B');
      sequential(k, [
        async () => { await a.lock(); if (b.trylock()) b.unlock(); a.unlock(); },
        async () => { await b.lock(); await a.lock(); a.unlock(); b.unlock(); },
      ]);
    });
    expect(rulesOf(r)).toEqual([]);
  });

  it('locks taken under a trylock depend on it and on the first non-trylock below it', async () => {
    let ld: Lockdep | null = null;
    const r = await runChecked((k) => {
      ld = lockdepOf(k);
      const a = new Mutex(k, 'A');
      const t = new Mutex(k, 'T');
      const c = new Mutex(k, 'C');
      sequential(k, [
        async () => {
          await a.lock();
          if (!t.trylock()) throw new Error('trylock failed');
          await c.lock();
          c.unlock();
          t.unlock();
          a.unlock();
        },
      ]);
    });
    expect(rulesOf(r)).toEqual([]);
    const g = ld!.graph;
    const [A, T, C] = ['A', 'T', 'C'].map((n) => g.classes.find((x) => x.name === n)!);
    expect(g.edge(T!, C!)).toBeDefined();
    expect(g.edge(A!, C!)).toBeDefined();
    expect(g.edge(A!, T!)).toBeUndefined();
  });
});

describe('graph bookkeeping', () => {
  it('adds edges only from the top held lock, skips redundant ones and validates each chain once', async () => {
    let ld: Lockdep | null = null;
    const r = await runChecked((k) => {
      ld = lockdepOf(k);
      const [a, b, c] = ['A', 'B', 'C'].map((n) => new Mutex(k, n, { key: n }));
      k.kthreadRun('t', async () => {
        for (let i = 0; i < 50; i++) {
          await a!.lock();
          await b!.lock();
          await c!.lock();
          c!.unlock();
          b!.unlock();
          // A held, C taken directly: A → C is implied by A → B → C.
          await c!.lock();
          c!.unlock();
          a!.unlock();
        }
      });
    });
    expect(rulesOf(r)).toEqual([]);
    const g = ld!.graph;
    const [A, B, C] = ['A', 'B', 'C'].map((n) => g.classes.find((x) => x.name === n)!);
    expect(g.edge(A!, B!)).toBeDefined();
    expect(g.edge(B!, C!)).toBeDefined();
    expect(g.edge(A!, C!)).toBeUndefined();
    expect(g.stats.redundantEdges).toBe(1);
    // 200 acquisitions, but only the chains [A], [A,B], [A,B,C], [A,C] are validated (plus the priming chains).
    const primingOnly = lockdepOf(createCheckedKernel())!.graph.stats.chainMisses;
    expect(g.stats.chainMisses - primingOnly).toBe(4);
  });

  it('records each edge with its type and where it was first seen', async () => {
    let ld: Lockdep | null = null;
    await runChecked((k) => {
      ld = lockdepOf(k);
      const rw = new RwSemaphore(k, 'RW');
      const m = new Mutex(k, 'M');
      k.kthreadRun('first', async () => {
        await rw.downRead();
        await m.lock();
        m.unlock();
        rw.upRead();
        await rw.downWrite();
        await m.lock();
        m.unlock();
        rw.upWrite();
      });
    });
    const g = ld!.graph;
    const e = g.edge(g.classes.find((x) => x.name === 'RW')!, g.classes.find((x) => x.name === 'M')!)!;
    expect(e.dep).toBe(4 | 8); // SN | EN
    expect(e.origin.thread).toBe('first');
    expect(e.origin.run).toBe(1);
  });
});
