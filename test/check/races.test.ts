import { describe, expect, it } from 'vitest';
import { createCheckedKernel } from '../../src/check/index.ts';
import {
  atomicInc,
  Completion,
  kfree,
  KCell,
  kstruct,
  msleep,
  Mutex,
  queueWork,
  readOnce,
  smpLoadAcquire,
  smpStoreRelease,
  SpinLock,
  systemWq,
  WorkStruct,
  writeOnce,
} from '../../src/kernel/index.ts';
import { GFP_KERNEL, kmallocStruct } from '../../src/kernel/index.ts';
import type { Kernel, RunResult } from '../../src/kernel/index.ts';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

async function run(setup: (k: Kernel) => void, seed = 1, opts: { stacks?: boolean; races?: boolean } = {}): Promise<RunResult> {
  const k = createCheckedKernel({ seed, captureStacks: opts.stacks ?? false, races: opts.races ?? true });
  setup(k);
  const r = await k.run();
  if (r.failure) throw new Error(`run failed: ${r.failure.message}`);
  return r;
}

/** Reads a value for its side effect (the recorded access). */
function use(v: unknown): void {
  sinks.push(v);
}
const sinks: unknown[] = [];

const rules = (r: RunResult): string[] => r.splats.filter((s) => s.severity !== 'info').map((s) => s.rule);

describe('data races from the history of the run', () => {
  it('two unsynchronised plain writes race on every seed, even when they run far apart', async () => {
    for (const seed of SEEDS) {
      const r = await run((k) => {
        const ring = kstruct(k, 'struct gpu_ring', { seqno: 0 }, { name: 'ring' });
        k.kthreadRun('submit', () => {
          ring.seqno = 1;
        });
        k.kthreadRun('irq-thread', async () => {
          await msleep(k, 50);
          ring.seqno = 2;
        });
      }, seed);
      expect(rules(r)).toEqual(['kcsan.data_race']);
      expect(r.splats[0]!.headline).toBe('BUG: KCSAN: data-race in irq-thread / submit');
      expect(r.splats[0]!.body).toContain('write to ring->seqno of 8 bytes by task');
    }
  });

  it('a mutex, a completion or a work item orders the accesses: clean on every seed', async () => {
    for (const seed of SEEDS) {
      const r = await run((k) => {
        const s = kstruct(k, 'struct dev', { a: 0, b: 0, c: 0 });
        const m = new Mutex(k, 'dev->lock');
        const done = new Completion(k);
        const work = new WorkStruct(k, () => {
          s.c = s.c + 1;
        }, 'dev_work');
        k.kthreadRun('one', async () => {
          await m.lock();
          s.a = s.a + 1;
          m.unlock();
          s.b = 1;
          done.complete();
          s.c = 1;
          queueWork(systemWq(k), work);
        });
        k.kthreadRun('two', async () => {
          await m.lock();
          s.a = s.a + 1;
          m.unlock();
          await done.waitForCompletion();
          s.b = 2;
        });
      }, seed);
      expect(rules(r)).toEqual([]);
    }
  });

  it('marked accesses never race with each other; a plain read of a WRITE_ONCE value does', async () => {
    const clean = await run((k) => {
      const c = new KCell(k, 'jiffies_cache', 0);
      k.kthreadRun('w', () => {
        writeOnce(c, 1);
      });
      k.kthreadRun('r', () => {
        readOnce(c);
        atomicInc(c);
      });
    });
    expect(rules(clean)).toEqual([]);
    const racy = await run((k) => {
      const c = new KCell(k, 'jiffies_cache', 0);
      k.kthreadRun('w', () => {
        writeOnce(c, 1);
      });
      k.kthreadRun('r', () => {
        use(c.value);
      });
    });
    expect(rules(racy)).toEqual(['kcsan.data_race']);
    expect(racy.splats[0]!.body).toMatch(/write \(marked\) to jiffies_cache/);
  });

  it('smp_store_release / smp_load_acquire publish the data written before', async () => {
    for (const seed of SEEDS) {
      const r = await run((k) => {
        const s = kstruct(k, 'struct msg', { payload: 0, ready: 0 });
        k.kthreadRun('producer', () => {
          s.payload = 42;
          smpStoreRelease(s, 'ready', 1);
        });
        k.kthreadRun('consumer', async () => {
          while (smpLoadAcquire(s, 'ready') === 0) await msleep(k, 1);
          expect(s.payload).toBe(42);
        });
      }, seed);
      expect(rules(r)).toEqual([]);
    }
  });

  it('a spinlock taken on one side only does not order anything', async () => {
    const r = await run((k) => {
      const s = kstruct(k, 'struct tl', { count: 0, lock: new SpinLock(k, 'tl->lock') });
      k.kthreadRun('locked', () => {
        s.lock.lockIrq();
        s.count = s.count + 1;
        s.lock.unlockIrq();
      });
      k.kthreadRun('unlocked', () => {
        s.count = s.count + 1;
      });
    });
    expect(rules(r)).toEqual(['kcsan.data_race']);
  });

  it('a work item sees what was written before queue_work, not what was written after', async () => {
    const r = await run((k) => {
      const s = kstruct(k, 'struct job', { before: 0, after: 0 });
      const work = new WorkStruct(k, () => {
        use(s.before);
        use(s.after);
      }, 'job_work');
      k.kthreadRun('submit', () => {
        s.before = 1;
        queueWork(systemWq(k), work);
        s.after = 1;
      });
    });
    expect(rules(r)).toEqual(['kcsan.data_race']);
    expect(r.splats[0]!.body).toContain('job->after');
    expect(r.splats[0]!.body).not.toContain('job->before');
  });

  it('the same race is reported once, not at every access', async () => {
    const r = await run((k) => {
      const c = new KCell(k, 'counter', 0);
      for (const name of ['a', 'b']) {
        k.kthreadRun(name, async () => {
          for (let i = 0; i < 20; i++) {
            c.value = c.value + 1;
            await msleep(k, 1);
          }
        });
      }
    });
    expect(rules(r)).toEqual(['kcsan.data_race']);
  });

  it('records source sites when stacks are captured', async () => {
    const r = await run(
      (k) => {
        const c = new KCell(k, 'flag', 0);
        k.kthreadRun('a', () => {
          c.value = 1;
        });
        k.kthreadRun('b', () => {
          c.value = 2;
        });
      },
      1,
      { stacks: true },
    );
    expect(r.splats[0]!.headline).toBe('BUG: KCSAN: data-race in a / b');
    expect(r.splats[0]!.body).toMatch(/by task \d+ \(a\):\n test\/check\/races\.test\.ts:\d+:\d+/);
    expect(r.splats[0]!.stacks?.map((x) => x.label)).toContain('write to flag (the other access)');
  });

  it('switched off, nothing is recorded and nothing reported', async () => {
    const r = await run(
      (k) => {
        const c = new KCell(k, 'flag', 0);
        k.kthreadRun('a', () => {
          c.value = 1;
        });
        k.kthreadRun('b', () => {
          c.value = 2;
        });
        expect(k.hb).toBeNull();
      },
      1,
      { races: false },
    );
    expect(rules(r)).toEqual([]);
  });
});

describe('the hook contract a new lock primitive follows', () => {
  /** A minimal lock as issue 15's primitives would write it: acquire when taken, release when let go. */
  class TinyLock {
    owner: unknown = null;
    constructor(readonly k: Kernel) {}
    lock(): boolean {
      if (this.owner !== null) return false;
      this.owner = this.k.current;
      this.k.hb?.acquire(this.k.current, this);
      return true;
    }
    unlock(): void {
      this.owner = null;
      this.k.hb?.release(this.k.current, this);
    }
  }

  it('acquire / release order the critical sections; without the calls the same code races', async () => {
    for (const hooks of [true, false]) {
      const r = await run((k) => {
        const l = new TinyLock(k);
        const c = new KCell(k, 'protected', 0);
        for (const name of ['a', 'b']) {
          k.kthreadRun(name, async () => {
            while (!l.lock()) await msleep(k, 1);
            c.value = c.value + 1;
            if (hooks) l.unlock();
            else l.owner = null;
          });
        }
      });
      expect(rules(r)).toEqual(hooks ? [] : ['kcsan.data_race']);
    }
  });
});

describe('KASAN: use after free', () => {
  it('an access after kfree is a slab-use-after-free with both sites', async () => {
    const r = await run((k) => {
      const ctx = kstruct(k, 'struct drv_ctx', { refs: 1 }, { name: 'ctx' });
      k.kthreadRun('owner', () => {
        kfree(k, ctx);
        use(ctx.refs);
      });
    });
    expect(rules(r)).toEqual(['kasan.slab_use_after_free']);
    const s = r.splats[0]!;
    expect(s.headline).toBe('BUG: KASAN: slab-use-after-free in owner');
    expect(s.body).toContain('Read of size 8 at addr ctx->refs by task owner');
    expect(s.body).toContain('Allocated by scenario setup');
    expect(s.body).toContain('Freed by task');
    expect(s.body).toContain(' kfree');
  });

  it('an access by another thread not ordered before the free is reported even when it ran first', async () => {
    for (const seed of SEEDS) {
      const r = await run((k) => {
        const ctx = kstruct(k, 'struct drv_ctx', { refs: 1 }, { name: 'ctx' });
        k.kthreadRun('reader', () => {
          use(ctx.refs);
        });
        k.kthreadRun('freer', async () => {
          await msleep(k, 10);
          kfree(k, ctx);
        });
      }, seed);
      expect(rules(r)).toContain('kasan.slab_use_after_free');
    }
  });

  it('an access ordered before the free (a completion) is fine', async () => {
    for (const seed of SEEDS) {
      const r = await run((k) => {
        const ctx = kstruct(k, 'struct drv_ctx', { refs: 1 }, { name: 'ctx' });
        const done = new Completion(k);
        k.kthreadRun('reader', () => {
          use(ctx.refs);
          done.complete();
        });
        k.kthreadRun('freer', async () => {
          await done.waitForCompletion();
          kfree(k, ctx);
        });
      }, seed);
      expect(rules(r)).toEqual([]);
    }
  });

  it('freeing a struct whose lock the caller holds is "held lock freed!"; a later unlock is a use after free', async () => {
    const r = await run((k) => {
      const obj = kstruct(k, 'struct obj', { lock: new Mutex(k, 'obj->lock'), n: 0 });
      k.kthreadRun('t', async () => {
        await obj.lock.lock();
        kfree(k, obj);
        obj.lock.unlock();
      });
    });
    expect(rules(r)).toEqual(['lockdep.held_lock_freed', 'kasan.slab_use_after_free']);
    expect(r.splats[1]!.headline).toBe('BUG: KASAN: slab-use-after-free in unlock of obj->lock');
  });
});

describe('the memory API is used from threads', () => {
  it('setup may initialise fields; after the run an access is a misuse error with a fix', async () => {
    const k = createCheckedKernel({ seed: 1 });
    const s = kstruct(k, 'struct dev', { n: 0 });
    s.n = 5;
    k.kthreadRun('t', () => {
      s.n = s.n + 1;
    });
    await k.run();
    expect(() => s.n).toThrow(/used after its kernel's run ended.*snapshot/);
  });

  it('an access from a raw kernel timer (no thread) is a misuse error that says how to fix it', async () => {
    const k = createCheckedKernel({ seed: 1 });
    const c = new KCell(k, 'flag', 0);
    k.kthreadRun('t', async () => {
      k.addTimer(1e6, 'raw', () => {
        c.value = 1;
      });
      await msleep(k, 5);
    });
    const r = await k.run();
    expect(r.failure?.message).toMatch(/flag accessed outside a simulated thread: .*snapshot\(\)/);
  });

  it('kmallocStruct follows kmalloc (GFP rules, fault injection) and kfree poisons it', async () => {
    const r = await run((k) => {
      k.kthreadRun('t', () => {
        const s = kmallocStruct(k, 'struct req', { id: 7 }, GFP_KERNEL);
        expect(s).not.toBeNull();
        expect(s!.id).toBe(7);
        kfree(k, s);
        use(s!.id);
      });
    });
    expect(rules(r)).toEqual(['kasan.slab_use_after_free']);
  });

  it('a struct field that is not data cannot be marked-accessed', () => {
    const k = createCheckedKernel({ seed: 1 });
    const s = kstruct(k, 'struct dev', { n: 0, lock: new SpinLock(k, 'l') });
    expect(() => readOnce(s, 'lock')).toThrow(/not a plain field/);
  });
});
