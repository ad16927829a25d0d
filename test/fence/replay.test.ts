import { describe, expect, it } from 'vitest';
import { msleep } from '../../src/kernel/index.ts';
import type { Kernel, KernelEvent } from '../../src/kernel/index.ts';
import {
  DmaFenceCb,
  dmaFenceChainAlloc,
  dmaFenceChainInit,
  dmaFenceUnwrapMerge,
  UserProcess,
} from '../../src/fence/index.ts';
import type { DmaFence } from '../../src/fence/index.ts';
import { determinism, mockFence } from './helpers.ts';
import { createFence, inc, merge, pollIn, timelineCreate } from './user-helpers.ts';

/** Chains, merges, waits and sw_sync processes, with several threads racing. */
function busySetup(k: Kernel): void {
  const fences: DmaFence[] = Array.from({ length: 6 }, (_, i) => mockFence(k, i + 1, 1));
  k.kthreadRun('builder', async () => {
    let tail: DmaFence | null = null;
    for (let i = 0; i < fences.length; i++) {
      const c = dmaFenceChainAlloc(k)!;
      dmaFenceChainInit(c, tail, fences[i]!.get(), i + 1);
      tail = c;
      await k.schedulePoint('build');
    }
    const m = dmaFenceUnwrapMerge(k, tail!, fences[0]!)!;
    m.addCallback(new DmaFenceCb(), () => {});
    await m.wait(false);
    m.put();
    tail!.put();
  });
  for (const w of [0, 1]) {
    k.kthreadRun(`signaller${w}`, async () => {
      for (let i = w; i < fences.length; i += 2) {
        await msleep(k, 1 + i);
        fences[i]!.signal();
      }
    });
  }
  const prod = new UserProcess(k, 'prod');
  const cons = new UserProcess(k, 'cons');
  prod.spawn('prod', async () => {
    const tl = timelineCreate(prod);
    const a = await createFence(prod, tl, 1);
    const b = await createFence(prod, tl, 2);
    const ab = await merge(prod, a, b);
    const fd = prod.passFd(ab, cons);
    cons.spawn('cons', async () => {
      await pollIn(cons, fd, -1);
      cons.exit();
    });
    await msleep(k, 2);
    await inc(prod, tl, 2);
    prod.exit();
  });
}

describe('replay determinism', () => {
  it('same seed twice and a replay of the schedule give identical event streams', async () => {
    for (const seed of [1, 2, 3]) {
      const d = await determinism(busySetup, { seed });
      expect(d.result.failure).toBeNull();
      expect(d.result.splats).toEqual([]);
      expect(d.b).toBe(d.a);
      expect(d.replay).toBe(d.a);
      expect(d.events).toBeGreaterThan(200);
    }
  });

  it('emits every fence event type', async () => {
    const { Kernel } = await import('../../src/kernel/index.ts');
    const k = new Kernel({ seed: 1 });
    const types = new Set<string>();
    const byFence = new Map<number, string[]>();
    k.events.on((e: KernelEvent) => {
      if (!e.type.startsWith('fence-')) return;
      types.add(e.type);
      const id = (e as { fence: number }).fence;
      byFence.set(id, [...(byFence.get(id) ?? []), e.type]);
    });
    busySetup(k);
    await k.run();
    expect([...types].sort()).toEqual([
      'fence-callback',
      'fence-completed',
      'fence-destroy',
      'fence-enable-signal',
      'fence-init',
      'fence-signal',
      'fence-wait-end',
      'fence-wait-start',
    ]);
    for (const evs of byFence.values()) {
      expect(evs.filter((t) => t === 'fence-signal').length).toBeLessThanOrEqual(1);
      if (evs.includes('fence-destroy')) expect(evs[evs.length - 1]).toBe('fence-destroy');
    }
  });
});
