/** lockdep reports replay exactly: same seed, same splats; a recorded schedule replays them. */
import { describe, expect, it } from 'vitest';
import { createCheckedKernel } from '../../src/check/index.ts';
import { ReplayChooser } from '../../src/kernel/index.ts';
import type { Chooser, KernelEvent, RunResult } from '../../src/kernel/index.ts';
import { Mutex, msleep, SpinLock } from '../../src/kernel/index.ts';

async function workload(seed: number, chooser?: Chooser): Promise<{ r: RunResult; events: KernelEvent[] }> {
  const k = createCheckedKernel({ seed, ...(chooser ? { chooser } : {}) });
  const events: KernelEvent[] = [];
  k.events.on((e) => events.push(e));
  const locks = [0, 1, 2].map((i) => new Mutex(k, `m${i}`, { key: `det:m${i}` }));
  const s = new SpinLock(k, 's');
  for (let t = 0; t < 4; t++) {
    k.kthreadRun(`t${t}`, async () => {
      for (let j = 0; j < 3; j++) {
        const x = locks[(t + j) % 3]!;
        const y = locks[(t + j + 1) % 3]!;
        await x.lock();
        if (t % 2) s.lock();
        if (t % 2) s.unlock();
        if (!y.trylock()) {
          await msleep(k, 1);
        } else {
          y.unlock();
        }
        x.unlock();
        await msleep(k, 1);
      }
      s.lock();
      s.unlock();
    });
  }
  const r = await k.run();
  return { r, events };
}

const strip = (r: RunResult) => JSON.stringify(r.splats);

describe('determinism', () => {
  it('the same seed gives the same splats and event stream', async () => {
    const a = await workload(7);
    const b = await workload(7);
    expect(strip(a.r)).toBe(strip(b.r));
    expect(JSON.stringify(a.events)).toBe(JSON.stringify(b.events));
  });

  it('replaying the recorded schedule gives the same splats and event stream', async () => {
    const a = await workload(11);
    const b = await workload(11, new ReplayChooser(a.r.schedule));
    expect(strip(b.r)).toBe(strip(a.r));
    expect(JSON.stringify(b.events)).toBe(JSON.stringify(a.events));
  });
});
