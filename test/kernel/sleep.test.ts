import { describe, expect, it } from 'vitest';
import { condResched, Kernel, MAX_SCHEDULE_TIMEOUT, msleep, scheduleTimeout, usleepRange } from '../../src/kernel/index.ts';
import type { Thread } from '../../src/kernel/index.ts';

async function timeOf(hz: number, body: (k: Kernel) => Promise<void>): Promise<number> {
  const k = new Kernel({ hz });
  let at = -1;
  k.kthreadRun('t', async () => {
    await body(k);
    at = k.nowNs;
  });
  await k.run();
  return at;
}

describe('virtual time', () => {
  it('msleep sleeps msecs_to_jiffies(ms) + 1 jiffies, exactly', async () => {
    expect(await timeOf(1000, (k) => msleep(k, 10))).toBe(11e6);
    expect(await timeOf(250, (k) => msleep(k, 10))).toBe(16e6); // ceil(2.5) + 1 = 4 jiffies of 4 ms
    expect(await timeOf(100, (k) => msleep(k, 1))).toBe(20e6);
    expect(await timeOf(1000, (k) => msleep(k, 0))).toBe(1e6);
  });

  it('usleep_range wakes at the minimum, to the nanosecond; a reversed range is misuse', async () => {
    expect(await timeOf(1000, (k) => usleepRange(k, 150, 300))).toBe(150_000);
    expect(await timeOf(1000, async (k) => {
      await usleepRange(k, 10, 20);
      await usleepRange(k, 5, 5);
    })).toBe(15_000);
    const k = new Kernel();
    let err = '';
    k.kthreadRun('t', async () => {
      await usleepRange(k, 20, 10).catch((e: unknown) => {
        err = String(e);
      });
    });
    await k.run();
    expect(err).toContain('max (10) is below min (20)');
  });

  it('jiffies derive from the clock', async () => {
    const k = new Kernel({ hz: 300 });
    const seen: number[] = [];
    k.kthreadRun('t', async () => {
      await usleepRange(k, 3334, 3334);
      seen.push(k.jiffies, k.nowNs);
    });
    await k.run();
    expect(seen).toEqual([1, 3_334_000]);
    expect(k.msecsToJiffies(10)).toBe(3);
    expect(k.jiffiesToNs(3)).toBe(10_000_000);
  });

  it('schedule_timeout returns 0 after the full timeout, or the remaining jiffies when woken', async () => {
    const k = new Kernel({ seed: 1 });
    const out: number[] = [];
    let sleeper: Thread | null = null;
    k.kthreadRun('sleeper', async () => {
      sleeper = k.current;
      out.push(await scheduleTimeout(k, 5), k.nowNs);
      out.push(await scheduleTimeout(k, 20), k.nowNs);
      out.push(await scheduleTimeout(k, MAX_SCHEDULE_TIMEOUT, { interruptible: true }), k.nowNs);
    });
    k.kthreadRun('waker', async () => {
      await msleep(k, 7); // 8 ms: wakes the 20-jiffy sleep 3 ms in
      k.wake(sleeper!);
      await msleep(k, 1);
      k.sendSignal(sleeper!);
    });
    const r = await k.run();
    expect(r.end).toBe('completed');
    expect(out).toEqual([0, 5e6, 17, 8e6, MAX_SCHEDULE_TIMEOUT, 10e6]);
  });

  it('time only advances when nothing can run', async () => {
    const k = new Kernel({ seed: 1 });
    const stamps: number[] = [];
    k.kthreadRun('busy', async () => {
      for (let i = 0; i < 100; i++) {
        await condResched(k);
        stamps.push(k.nowNs);
      }
    });
    k.kthreadRun('sleeper', async () => {
      await msleep(k, 1);
    });
    const r = await k.run();
    expect(new Set(stamps)).toEqual(new Set([0]));
    expect(r.timeNs).toBe(2e6);
  });
});
