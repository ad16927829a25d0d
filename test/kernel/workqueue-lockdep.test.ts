import { describe, expect, it } from 'vitest';
import {
  allocOrderedWorkqueue,
  allocWorkqueue,
  cancelWorkSync,
  flushWork,
  flushWorkqueue,
  GFP_KERNEL,
  GFP_NOWAIT,
  initWork,
  Kernel,
  kmalloc,
  LdWait,
  LockdepMap,
  msleep,
  Mutex,
  queueWork,
  SpinLock,
  systemWq,
  taintReclaimWorkqueue,
  WQ_MEM_RECLAIM,
} from '../../src/kernel/index.ts';
import { rules, TinyLockdep } from './kernel-test-helpers.ts';

describe('workqueue lockdep maps', () => {
  it('a worker holds the wq map then the work map around the callback', async () => {
    const v = new TinyLockdep();
    const k = new Kernel({ seed: 1, validator: v });
    const wq = allocWorkqueue(k, 'q');
    const m = new Mutex(k, 'L');
    const w = initWork(k, async () => {
      await m.lock();
      m.unlock();
    }, 'w');
    queueWork(wq, w);
    await k.run();
    expect(v.acquisitions.find((a) => a.lock === 'L')?.held).toEqual(['(wq_completion)q', '(work_completion)w']);
  });

  it('"hold L, flush W" against "W takes L" closes a cycle even on a run that does not deadlock', async () => {
    for (const seed of [1, 2, 3, 4]) {
      const v = new TinyLockdep();
      const k = new Kernel({ seed, validator: v });
      const wq = allocWorkqueue(k, 'q');
      const l = new Mutex(k, 'L', { key: 'L' });
      const w = initWork(k, async () => {
        await l.lock();
        l.unlock();
        await msleep(k, 5);
      }, 'w');
      k.kthreadRun('flusher', async () => {
        queueWork(wq, w);
        await msleep(k, 1);
        await l.lock();
        await flushWork(w); // busy: sleeping after having taken L
        l.unlock();
      });
      const r = await k.run();
      expect(r.end).toBe('completed');
      expect(v.cycles.length).toBe(1);
      expect(v.cycles[0]).toContain('L');
    }
  });

  it('when the bad order actually deadlocks, the report names both threads and what they hold', async () => {
    const k = new Kernel({ seed: 1 });
    const wq = allocWorkqueue(k, 'q');
    const l = new Mutex(k, 'L');
    const w = initWork(k, async () => {
      await msleep(k, 1);
      await l.lock();
      l.unlock();
    }, 'w');
    k.kthreadRun('flusher', async () => {
      queueWork(wq, w);
      await l.lock();
      await flushWork(w);
      l.unlock();
    });
    const r = await k.run();
    expect(r.end).toBe('deadlock');
    const d = r.splats.find((s) => s.rule === 'sched.deadlock')!;
    expect(d.body).toContain('flusher blocked in flush_work on flush_work(w) (held by kworker/q:0)\n    holding: L');
    expect(d.body).toContain('kworker/q:0 blocked in mutex_lock on mutex L (held by flusher)');
  });

  it('flush_workqueue acquires the wq map in the caller; flush_work only when the item is busy', async () => {
    const v = new TinyLockdep();
    const k = new Kernel({ seed: 1, validator: v });
    const wq = allocWorkqueue(k, 'q');
    const idle = initWork(k, () => {}, 'idle');
    k.kthreadRun('main', async () => {
      await flushWork(idle);
      await flushWorkqueue(wq);
    });
    await k.run();
    const mine = v.acquisitions.filter((a) => a.thread === 'main').map((a) => a.lock);
    expect(mine).toEqual(['(wq_completion)q']);
  });

  it('flushing from a work item of the same ordered queue is a recursion and a deadlock', async () => {
    const v = new TinyLockdep();
    const k = new Kernel({ seed: 1, validator: v });
    const wq = allocOrderedWorkqueue(k, 'ord');
    const w = initWork(k, async () => {
      await flushWorkqueue(wq);
    }, 'self-flush');
    queueWork(wq, w);
    const r = await k.run();
    expect(v.recursions).toContain('(wq_completion)ord');
    expect(r.end).toBe('deadlock');
    expect(r.splats[0]!.body).toContain('kworker/ord:0 blocked in flush_workqueue on flush_workqueue(ord) (held by kworker/ord:0)');
  });

  it('queues can share one lockdep map (alloc_ordered_workqueue_lockdep_map)', () => {
    const k = new Kernel();
    const shared = new LockdepMap('drm_sched_lockdep_map', 'drm_sched_lockdep_map', LdWait.INV);
    const a = allocOrderedWorkqueue(k, 'a', WQ_MEM_RECLAIM, { lockdepMap: shared });
    const b = allocOrderedWorkqueue(k, 'b', WQ_MEM_RECLAIM, { lockdepMap: shared });
    expect(a.dep).toBe(b.dep);
  });

  it('taint_reclaim_workqueue makes a reclaiming allocation in its items a cycle', async () => {
    for (const [gfp, cycle] of [[GFP_KERNEL, true], [GFP_NOWAIT, false]] as const) {
      const v = new TinyLockdep();
      const k = new Kernel({ seed: 1, validator: v });
      const wq = allocOrderedWorkqueue(k, 'submit', WQ_MEM_RECLAIM);
      const w = initWork(k, () => {
        kmalloc(k, 64, gfp);
      }, 'run_job');
      k.kthreadRun('init', () => {
        taintReclaimWorkqueue(wq, GFP_KERNEL);
        queueWork(wq, w);
      });
      await k.run();
      expect(v.edges.get('fs_reclaim')?.has('(wq_completion)submit')).toBe(true);
      expect(v.cycles.some((c) => c.includes('fs_reclaim') && c.includes('(wq_completion)submit'))).toBe(cycle);
    }
  });
});

describe('work items that leak', () => {
  it('returning with a mutex held is "workqueue leaked lock or atomic"; the worker goes on', async () => {
    const k = new Kernel({ seed: 1 });
    const wq = allocOrderedWorkqueue(k, 'q');
    const m = new Mutex(k, 'leaky');
    let nextRan = false;
    queueWork(wq, initWork(k, async () => {
      await m.lock();
    }, 'bad'));
    queueWork(wq, initWork(k, () => {
      nextRan = true;
    }, 'good'));
    const r = await k.run();
    expect(rules(r)).toEqual(['workqueue.leaked_lock_or_atomic']);
    const s = r.splats[0]!;
    expect(s.headline).toMatch(/^BUG: workqueue leaked lock or atomic: kworker\/q:0\/0x00000000\/\d+$/);
    expect(s.body).toContain('last function: bad');
    expect(s.body).toContain('lock=0->1');
    expect(s.body).toContain('leaky');
    expect(nextRan).toBe(true);
  });

  it('returning in atomic context (spinlock or preempt count) is reported once, and the worker is usable after', async () => {
    const k = new Kernel({ seed: 1 });
    const wq = allocOrderedWorkqueue(k, 'q');
    const s = new SpinLock(k, 'sl');
    let later = -1;
    queueWork(wq, initWork(k, () => {
      s.lock();
    }, 'atomic'));
    queueWork(wq, initWork(k, async () => {
      await msleep(k, 1);
      later = k.current.preemptCount;
    }, 'sleeper'));
    const r = await k.run();
    expect(rules(r)).toEqual(['workqueue.leaked_lock_or_atomic']);
    expect(r.splats[0]!.headline).toContain('/0x00000001/');
    expect(later).toBe(0);
  });

  it('a balanced item is not reported', async () => {
    const k = new Kernel({ seed: 1 });
    const wq = allocWorkqueue(k, 'q');
    const m = new Mutex(k, 'ok');
    queueWork(wq, initWork(k, async () => {
      await m.lock();
      m.unlock();
    }, 'fine'));
    const r = await k.run();
    expect(r.splats).toEqual([]);
  });
});

describe('check_flush_dependency', () => {
  it('a WQ_MEM_RECLAIM item flushing a !WQ_MEM_RECLAIM queue is a WARN (once), but cancel is not', async () => {
    const k = new Kernel({ seed: 1 });
    const reclaim = allocWorkqueue(k, 'reclaim_wq', WQ_MEM_RECLAIM);
    const plain = initWork(k, async () => {
      await msleep(k, 5);
    }, 'plain');
    const other = initWork(k, async () => {
      await msleep(k, 5);
    }, 'other');
    queueWork(reclaim, initWork(k, async () => {
      queueWork(systemWq(k), plain);
      await flushWork(plain);
      queueWork(systemWq(k), plain);
      await flushWork(plain);
      queueWork(systemWq(k), other);
      await msleep(k, 1);
      await cancelWorkSync(other);
    }, 'reclaimer'));
    const r = await k.run();
    expect(rules(r)).toEqual(['workqueue.flush_dependency']);
    expect(r.splats[0]!.headline).toBe('workqueue: WQ_MEM_RECLAIM reclaim_wq:reclaimer is flushing !WQ_MEM_RECLAIM events:plain');
  });
});
