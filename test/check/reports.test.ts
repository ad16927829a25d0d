/**
 * Report text per kind, as snapshots: the layout reads like the kernel's
 * (headline, acquiring / held lock, the chain in reverse order with where
 * each edge was recorded, "Chain exists of", the two-CPU scenario, the
 * held-lock list, the {+.+.} usage notation). Also the structured data.
 */
import { describe, expect, it } from 'vitest';
import { debugCheckNoLocksFreed, dmaFenceBeginSignalling, dmaFenceEndSignalling } from '../../src/check/index.ts';
import { Completion, GFP_KERNEL, kmalloc, Kref, msleep, Mutex, SpinLock } from '../../src/kernel/index.ts';
import { runChecked, splatsOf, text } from './helpers.ts';

describe('report text', () => {
  it('circular dependency of two locks', async () => {
    const r = await runChecked((k) => {
      const a = new Mutex(k, 'lock_a', { key: 'lock_a' });
      const b = new Mutex(k, 'lock_b', { key: 'lock_b' });
      const first = new Completion(k);
      k.kthreadRun('one', async () => {
        await a.lock();
        await b.lock();
        b.unlock();
        a.unlock();
        first.complete();
      });
      k.kthreadRun('two', async () => {
        await first.waitForCompletion();
        await b.lock();
        await a.lock();
        a.unlock();
        b.unlock();
      });
    });
    const s = splatsOf(r, 'lockdep.circular')[0]!;
    expect(text(s)).toMatchSnapshot();
    expect(s.data).toMatchSnapshot();
  });

  it('circular dependency through fs_reclaim and dma_fence_map', async () => {
    const r = await runChecked((k) => {
      k.kthreadRun('run_job', () => {
        const c = dmaFenceBeginSignalling(k);
        kmalloc(k, 64, GFP_KERNEL);
        dmaFenceEndSignalling(k, c);
      });
    });
    expect(text(splatsOf(r, 'lockdep.circular')[0]!)).toMatchSnapshot();
  });

  it('recursive locking', async () => {
    const r = await runChecked((k) => {
      const [a, b] = ['a', 'b'].map((n) => new Mutex(k, `&obj->lock(${n})`));
      k.kthreadRun('t', async () => {
        await a!.lock();
        await b!.lock();
        b!.unlock();
        a!.unlock();
      });
    });
    expect(text(splatsOf(r, 'lockdep.recursive')[0]!)).toMatchSnapshot();
  });

  it('inconsistent lock state', async () => {
    const r = await runChecked((k) => {
      const x = new SpinLock(k, '&ring->lock');
      const irq = k.spawnContext('hardirq', 'irq/42', () => {
        x.lock();
        x.unlock();
      });
      irq.hardirqThreaded = true;
      k.kthreadRun('submit', () => {
        x.lock();
        x.unlock();
      });
    });
    expect(text(splatsOf(r, 'lockdep.inconsistent')[0]!)).toMatchSnapshot();
  });

  it('HARDIRQ-safe -> HARDIRQ-unsafe and irq inversion', async () => {
    const r = await runChecked((k) => {
      const safe = new SpinLock(k, '&fence->lock');
      const unsafe = new SpinLock(k, '&xa->xa_lock');
      const mid = new SpinLock(k, '&sched->job_list_lock');
      const irqDone = new Completion(k);
      k.kthreadRun('a', () => {
        unsafe.lock();
        unsafe.unlock();
        const irq = k.spawnContext('hardirq', 'irq/42', () => {
          safe.lock();
          safe.unlock();
          irqDone.complete();
        });
        irq.hardirqThreaded = true;
      });
      k.kthreadRun('b', async () => {
        await irqDone.waitForCompletion();
        const f = safe.lockIrqsave();
        mid.lock();
        unsafe.lock();
        unsafe.unlock();
        mid.unlock();
        safe.unlockIrqrestore(f);
      });
    });
    expect(text(splatsOf(r, 'lockdep.safe_to_unsafe')[0]!)).toMatchSnapshot();
    const r2 = await runChecked((k) => {
      const safe = new SpinLock(k, '&fence->lock');
      const unsafe = new SpinLock(k, '&xa->xa_lock');
      k.kthreadRun('a', () => {
        const f = safe.lockIrqsave();
        unsafe.lock();
        unsafe.unlock();
        safe.unlockIrqrestore(f);
        unsafe.lock();
        unsafe.unlock();
        const irq = k.spawnContext('hardirq', 'irq/42', () => {
          safe.lock();
          safe.unlock();
        });
        irq.hardirqThreaded = true;
      });
    });
    expect(text(splatsOf(r2, 'lockdep.irq_inversion')[0]!)).toMatchSnapshot();
  });

  it('invalid wait context, nested lock not taken, held lock freed', async () => {
    const r = await runChecked((k) => {
      const s = new SpinLock(k, '&dev->irq_lock');
      const m = new Mutex(k, '&dev->mutex');
      const outer = new Mutex(k, '&vm->lock');
      k.kthreadRun('t', async () => {
        s.lock();
        await m.lock(); // sleeps in atomic context
        m.unlock();
        s.unlock();
        await m.lockNestLock(outer.dep);
        debugCheckNoLocksFreed(k, 'struct drm_device', [m]);
        m.unlock();
      });
    });
    for (const rule of ['lockdep.invalid_wait_context', 'lockdep.nested_lock_not_taken', 'lockdep.held_lock_freed']) {
      expect(text(splatsOf(r, rule)[0]!)).toMatchSnapshot(rule);
    }
  });

  it('names the TypeScript line of each acquisition when stack capture is on', async () => {
    const r = await runChecked(
      (k) => {
        const a = new Mutex(k, 'A');
        const b = new SpinLock(k, 'B');
        k.kthreadRun('one', async () => {
          await a.lock();
          b.lock();
          b.unlock();
          a.unlock();
        });
        k.kthreadRun('two', async () => {
          await msleep(k, 1);
          b.lock();
          await a.lock(); // also a mutex under a spinlock
          a.unlock();
          b.unlock();
        });
      },
      { captureStacks: true },
    );
    const s = splatsOf(r, 'lockdep.circular')[0]!;
    expect(s.body).toMatch(/\(A\)\{[^}]*\}-\{4:4\}, at: test\/check\/reports\.test\.ts:\d+:\d+/);
    expect(s.body).toMatch(/acquired while holding A \[EN\]: one at 0 ns \(step \d+\), at test\/check\/reports\.test\.ts:\d+:\d+/);
    expect(s.body).not.toContain('src/kernel/');
  });

  it('leak', async () => {
    const r = await runChecked((k) => {
      k.kthreadRun('t', () => {
        const ref = new Kref(k, 'dma_buf 7', { trackLeaks: true });
        ref.get();
      });
    });
    expect(text(splatsOf(r, 'lifetime.leak')[0]!)).toMatchSnapshot();
  });
});
