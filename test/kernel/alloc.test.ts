import { describe, expect, it } from 'vitest';
import {
  __GFP_NOFAIL,
  GFP_ATOMIC,
  GFP_KERNEL,
  GFP_NOFS,
  GFP_NOIO,
  GFP_NOWAIT,
  gfpName,
  Kernel,
  kfree,
  kmalloc,
  kvmalloc,
  kzalloc,
  memallocNofsRestore,
  memallocNofsSave,
  memallocNoioRestore,
  memallocNoioSave,
  ReplayChooser,
  SpinLock,
} from '../../src/kernel/index.ts';
import type { KBuffer } from '../../src/kernel/index.ts';
import { rules, TinyLockdep } from './kernel-test-helpers.ts';

/** Lockdep maps an allocation with `gfp` acquires (run in one thread, optionally in a scope). */
async function reclaimMaps(gfp: number, scope?: 'nofs' | 'noio'): Promise<string[]> {
  const v = new TinyLockdep();
  const k = new Kernel({ validator: v });
  k.kthreadRun('t', () => {
    const cookie = scope === 'nofs' ? memallocNofsSave(k) : scope === 'noio' ? memallocNoioSave(k) : 0;
    kmalloc(k, 8, gfp);
    if (scope === 'nofs') memallocNofsRestore(k, cookie);
    if (scope === 'noio') memallocNoioRestore(k, cookie);
  });
  await k.run();
  return v.acquisitions.map((a) => a.lock);
}

describe('GFP semantics', () => {
  it('GFP_KERNEL in atomic context is might_sleep; GFP_ATOMIC and GFP_NOWAIT are fine there', async () => {
    for (const [gfp, expected] of [[GFP_KERNEL, ['sched.might_sleep']], [GFP_NOFS, ['sched.might_sleep']], [GFP_ATOMIC, []], [GFP_NOWAIT, []]] as const) {
      const k = new Kernel();
      const l = new SpinLock(k, 'l');
      k.kthreadRun('t', () => {
        l.lock();
        expect(kmalloc(k, 8, gfp)).not.toBeNull();
        l.unlock();
      });
      const r = await k.run();
      expect(rules(r)).toEqual(expected);
    }
  });

  it('reclaiming allocations take the reclaim pseudo-locks as lockdep says (MMU notifiers on)', async () => {
    expect(await reclaimMaps(GFP_KERNEL)).toEqual(['fs_reclaim', 'mmu_notifier_invalidate_range_start']);
    expect(await reclaimMaps(GFP_NOFS)).toEqual(['mmu_notifier_invalidate_range_start']);
    expect(await reclaimMaps(GFP_NOIO)).toEqual(['mmu_notifier_invalidate_range_start']);
    expect(await reclaimMaps(GFP_ATOMIC)).toEqual([]);
    expect(await reclaimMaps(GFP_NOWAIT)).toEqual([]);
  });

  it('memalloc_nofs/noio scopes strip __GFP_FS (and __GFP_IO) until restored', async () => {
    expect(await reclaimMaps(GFP_KERNEL, 'nofs')).toEqual(['mmu_notifier_invalidate_range_start']);
    expect(await reclaimMaps(GFP_KERNEL, 'noio')).toEqual(['mmu_notifier_invalidate_range_start']);
    const v = new TinyLockdep();
    const k = new Kernel({ validator: v });
    k.kthreadRun('t', () => {
      const outer = memallocNofsSave(k);
      const inner = memallocNofsSave(k);
      memallocNofsRestore(k, inner);
      kmalloc(k, 8, GFP_KERNEL); // still inside the outer scope
      memallocNofsRestore(k, outer);
      kmalloc(k, 8, GFP_KERNEL);
    });
    await k.run();
    expect(v.acquisitions.map((a) => a.lock)).toEqual([
      'mmu_notifier_invalidate_range_start',
      'fs_reclaim',
      'mmu_notifier_invalidate_range_start',
    ]);
  });

  it('names masks the way the kernel spells them', () => {
    expect(gfpName(GFP_KERNEL)).toBe('GFP_KERNEL');
    expect(gfpName(GFP_ATOMIC)).toBe('GFP_ATOMIC');
    expect(gfpName(GFP_KERNEL | __GFP_NOFAIL)).toBe('GFP_KERNEL|__GFP_NOFAIL');
  });
});

describe('failure injection', () => {
  it('faults {alloc: 1} fails every allocation except __GFP_NOFAIL ones', async () => {
    const k = new Kernel({ faults: { alloc: 1 } });
    const got: (KBuffer | null)[] = [];
    k.kthreadRun('t', () => {
      got.push(kmalloc(k, 8, GFP_KERNEL), kzalloc(k, 8, GFP_ATOMIC), kvmalloc(k, 8, GFP_KERNEL), kmalloc(k, 8, GFP_KERNEL | __GFP_NOFAIL));
    });
    const r = await k.run();
    expect(got.map((b) => b !== null)).toEqual([false, false, false, true]);
    expect(r.schedule.decisions.filter((d) => d.kind === 'alloc').length).toBe(3);
  });

  it('without faults nothing fails', async () => {
    const k = new Kernel();
    let ok = 0;
    k.kthreadRun('t', () => {
      for (let i = 0; i < 100; i++) if (kmalloc(k, 8, GFP_KERNEL)) ok++;
    });
    await k.run();
    expect(ok).toBe(100);
  });

  it('a replay reproduces exactly which allocations failed', async () => {
    const pattern = async (k: Kernel): Promise<{ p: string; r: Awaited<ReturnType<Kernel['run']>> }> => {
      const bits: string[] = [];
      for (const n of ['a', 'b']) {
        k.kthreadRun(n, async () => {
          for (let i = 0; i < 20; i++) {
            bits.push(`${n}${kmalloc(k, 8, GFP_KERNEL, `${n}-site`) ? 1 : 0}`);
            await k.schedulePoint('yield');
          }
        });
      }
      const r = await k.run();
      return { p: bits.join(','), r };
    };
    const first = await pattern(new Kernel({ seed: 9, faults: { alloc: 0.3 } }));
    expect(first.p).toContain('0');
    expect(first.p).toContain('1');
    const again = await pattern(new Kernel({ seed: 9, faults: { alloc: 0.3 } }));
    expect(again.p).toBe(first.p);
    const replay = await pattern(new Kernel({ chooser: new ReplayChooser(first.r.schedule) }));
    expect(replay.p).toBe(first.p);
    const other = await pattern(new Kernel({ seed: 10, faults: { alloc: 0.3 } }));
    expect(other.p).not.toBe(first.p);
  });
});

describe('kfree', () => {
  it('a double free is a KASAN splat; kfree(null) is a no-op', async () => {
    const k = new Kernel();
    k.kthreadRun('t', () => {
      const b = kmalloc(k, 8, GFP_KERNEL);
      kfree(k, null);
      kfree(k, b);
      expect(b?.freed).toBe(true);
      kfree(k, b);
    });
    const r = await k.run();
    expect(rules(r)).toEqual(['mm.double_free']);
    expect(r.splats[0]!.headline).toBe('BUG: KASAN: double-free');
  });
});

describe('allocation ids', () => {
  it('number buffers per kernel, so a second run in the same process gets the same ids', async () => {
    const idsOf = async (): Promise<number[]> => {
      const k = new Kernel({ seed: 1 });
      const ids: number[] = [];
      k.kthreadRun('a', () => {
        for (let i = 0; i < 3; i++) ids.push(kmalloc(k, 64, GFP_KERNEL)!.id);
      });
      await k.run();
      return ids;
    };
    expect(await idsOf()).toEqual([1, 2, 3]);
    expect(await idsOf()).toEqual([1, 2, 3]);
  });
});
