/**
 * IGT `tests/syncobj_wait.c`, ported: the invalid-argument subtests, the
 * generated single-wait / multi-wait matrix, delayed signals and submits
 * from another thread (IGT's POSIX timers become threads that msleep),
 * reset, signal, the snapshot and complex cases, and interrupted waits.
 * Times are virtual: `short_timeout()` is now + 100 ms of virtual time.
 */
import { describe, expect, it } from 'vitest';
import { Errno, msleep } from '../../src/kernel/index.ts';
import type { Kernel } from '../../src/kernel/index.ts';
import type { UserProcess } from '../../src/fence/index.ts';
import { DRM_SYNCOBJ_CREATE_SIGNALED, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT } from '../../src/gem/index.ts';
import {
  igtRun,
  inc,
  SHORT_TIME_NSEC,
  syncobjAttachSwSync,
  syncobjCreate,
  syncobjDestroy,
  syncobjReset,
  syncobjSignal,
  syncobjTrigger,
  syncobjWait,
  syncobjWaitErr,
} from './syncobj-helpers.ts';

const EINVAL = -Errno.EINVAL;
const ETIME = -Errno.ETIME;
const ENOENT = -Errno.ENOENT;
const FOREVER = Number.POSITIVE_INFINITY; // UINT64_MAX

const WAIT_FOR_SUBMIT = 1 << 0;
const WAIT_ALL = 1 << 1;
const WAIT_UNSUBMITTED = 1 << 2;
const WAIT_SUBMITTED = 1 << 3;
const WAIT_SIGNALED = 1 << 4;
const WAIT_FLAGS_MAX = (1 << 5) - 1;

function flagsForTestFlags(tf: number): number {
  let f = 0;
  if (tf & WAIT_FOR_SUBMIT) f |= DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT;
  if (tf & WAIT_ALL) f |= DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL;
  return f;
}

function popcount(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

function subtestName(prefix: string, flags: number, err: number): string {
  return (
    (err === EINVAL ? 'invalid-' : '') + prefix +
    (flags & WAIT_ALL ? '-all' : '') + (flags & WAIT_FOR_SUBMIT ? '-for-submit' : '') +
    (flags & WAIT_UNSUBMITTED ? '-unsubmitted' : '') + (flags & WAIT_SUBMITTED ? '-submitted' : '') +
    (flags & WAIT_SIGNALED ? '-signaled' : '')
  );
}

const shortTimeout = (k: Kernel): number => k.nowNs + SHORT_TIME_NSEC;

async function testSingleWait(p: UserProcess, fd: number, k: Kernel, tf: number, expectErr: number): Promise<void> {
  const s = await syncobjCreate(p, fd, 0);
  const flags = flagsForTestFlags(tf);
  let timeline = -1;
  if (tf & (WAIT_SUBMITTED | WAIT_SIGNALED)) timeline = await syncobjAttachSwSync(p, fd, s);
  if (tf & WAIT_SIGNALED) await inc(p, timeline, 1);
  expect(await syncobjWaitErr(p, fd, [s], 0, flags)).toBe(expectErr);
  expect(await syncobjWaitErr(p, fd, [s], shortTimeout(k), flags)).toBe(expectErr);
  if (expectErr !== ETIME) expect(await syncobjWaitErr(p, fd, [s], FOREVER, flags)).toBe(expectErr);
  await syncobjDestroy(p, fd, s);
  if (timeline !== -1) p.close(timeline);
}

async function testMultiWait(p: UserProcess, fd: number, k: Kernel, testFlags: number, expectErr: number): Promise<void> {
  const syncobjs = [await syncobjCreate(p, fd, 0), await syncobjCreate(p, fd, 0), await syncobjCreate(p, fd, 0)];
  const flags = flagsForTestFlags(testFlags);
  let tf = testFlags & ~(WAIT_ALL | WAIT_FOR_SUBMIT);
  const timelines: number[] = [];
  for (let i = 0; i < 3; i++) {
    const fidx = Math.log2(tf & -tf);
    const tflag = 1 << fidx;
    if (tf & ~tflag) tf &= ~tflag;
    let timeline = -1;
    if (tflag & (WAIT_SUBMITTED | WAIT_SIGNALED)) timelines.push((timeline = await syncobjAttachSwSync(p, fd, syncobjs[i]!)));
    if (tflag & WAIT_SIGNALED) await inc(p, timeline, 1);
  }
  expect(await syncobjWaitErr(p, fd, syncobjs, 0, flags)).toBe(expectErr);
  expect(await syncobjWaitErr(p, fd, syncobjs, shortTimeout(k), flags)).toBe(expectErr);
  if (expectErr !== ETIME) expect(await syncobjWaitErr(p, fd, syncobjs, FOREVER, flags)).toBe(expectErr);
  for (const s of syncobjs) await syncobjDestroy(p, fd, s);
  for (const t of timelines) p.close(t);
}

describe('IGT syncobj_wait: invalid arguments', () => {
  it('invalid-wait-bad-flags', async () => {
    await igtRun(async (p, fd) => {
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_WAIT', { flags: 0xdeadbeef })).toBe(EINVAL);
    });
  });

  it('invalid-wait-zero-handles: 0 since Linux 6.14-ish (drm_syncobj_wait_ioctl returns early); older kernels and this IGT expected -EINVAL', async () => {
    await igtRun(async (p, fd) => {
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_WAIT', {})).toBe(0);
    });
  });

  it('invalid-wait-illegal-handle', async () => {
    await igtRun(async (p, fd) => {
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_WAIT', { countHandles: 1, handles: [0] })).toBe(ENOENT);
    });
  });

  for (const op of ['reset', 'signal'] as const) {
    const req = op === 'reset' ? 'DRM_IOCTL_SYNCOBJ_RESET' : 'DRM_IOCTL_SYNCOBJ_SIGNAL';
    it(`invalid-${op}-zero-handles`, async () => {
      await igtRun(async (p, fd) => {
        expect(await p.ioctl(fd, req, {})).toBe(EINVAL);
      });
    });
    it(`invalid-${op}-illegal-handle`, async () => {
      await igtRun(async (p, fd) => {
        expect(await p.ioctl(fd, req, { countHandles: 1, handles: [0] })).toBe(ENOENT);
      });
    });
    it(`invalid-${op}-bad-pad`, async () => {
      await igtRun(async (p, fd) => {
        expect(await p.ioctl(fd, req, { pad: 0xdeadbeef, countHandles: 1, handles: [0] })).toBe(EINVAL);
      });
    });
    it(`invalid-${op}-one-illegal-handle: nothing is ${op === 'reset' ? 'reset' : 'signalled'}`, async () => {
      await igtRun(async (p, fd) => {
        const flags = op === 'reset' ? DRM_SYNCOBJ_CREATE_SIGNALED : 0;
        const want = op === 'reset' ? 0 : EINVAL;
        const s = [await syncobjCreate(p, fd, flags), 0, await syncobjCreate(p, fd, flags)];
        expect(await syncobjWaitErr(p, fd, [s[0]!], 0, 0)).toBe(want);
        expect(await syncobjWaitErr(p, fd, [s[2]!], 0, 0)).toBe(want);
        expect(await p.ioctl(fd, req, { countHandles: 3, handles: s })).toBe(ENOENT);
        expect(await syncobjWaitErr(p, fd, [s[0]!], 0, 0)).toBe(want);
        expect(await syncobjWaitErr(p, fd, [s[2]!], 0, 0)).toBe(want);
        await syncobjDestroy(p, fd, s[0]!);
        await syncobjDestroy(p, fd, s[2]!);
      });
    });
  }
});

describe('IGT syncobj_wait: single-wait matrix', () => {
  for (let flags = 0; flags < WAIT_FLAGS_MAX; flags++) {
    if (popcount(flags & (WAIT_UNSUBMITTED | WAIT_SUBMITTED | WAIT_SIGNALED)) !== 1) continue;
    let err: number;
    if (flags & WAIT_UNSUBMITTED && !(flags & WAIT_FOR_SUBMIT)) err = EINVAL;
    else if (!(flags & WAIT_SIGNALED)) err = ETIME;
    else err = 0;
    it(`${subtestName('single-wait', flags, err)}: ${err ? Errno.ETIME === -err ? '-ETIME' : '-EINVAL' : '0'}`, async () => {
      await igtRun((p, fd, k) => testSingleWait(p, fd, k, flags, err));
    });
  }
});

describe('IGT syncobj_wait: multi-wait matrix', () => {
  for (let flags = 0; flags < WAIT_FLAGS_MAX; flags++) {
    if (!(flags & (WAIT_UNSUBMITTED | WAIT_SUBMITTED | WAIT_SIGNALED))) continue;
    let err = 0;
    if (flags & WAIT_UNSUBMITTED && !(flags & WAIT_FOR_SUBMIT)) err = EINVAL;
    else if (flags & WAIT_ALL) {
      if (flags & (WAIT_UNSUBMITTED | WAIT_SUBMITTED)) err = ETIME;
    } else if (!(flags & WAIT_SIGNALED)) err = ETIME;
    it(subtestName('multi-wait', flags, err), async () => {
      await igtRun((p, fd, k) => testMultiWait(p, fd, k, flags, err));
    });
  }
});

describe('IGT syncobj_wait: delayed signals, reset, signal', () => {
  const delayed: [string, number][] = [
    ['wait-delayed-signal', 0],
    ['wait-for-submit-delayed-submit', WAIT_FOR_SUBMIT],
    ['wait-all-delayed-signal', WAIT_ALL],
    ['wait-all-for-submit-delayed-submit', WAIT_ALL | WAIT_FOR_SUBMIT],
  ];
  for (const [name, tf] of delayed) {
    it(`${name}: another thread ${tf & WAIT_FOR_SUBMIT ? 'submits and signals' : 'signals'} after 100 ms; the wait returns then`, async () => {
      await igtRun(async (p, fd, k) => {
        const s = await syncobjCreate(p, fd, 0);
        let timeline = -1;
        if (tf & WAIT_FOR_SUBMIT) {
          p.spawn('timer', async () => {
            await msleep(k, SHORT_TIME_NSEC / 1e6);
            await syncobjTrigger(p, fd, s);
          });
        } else {
          timeline = await syncobjAttachSwSync(p, fd, s);
          p.spawn('timer', async () => {
            await msleep(k, SHORT_TIME_NSEC / 1e6);
            await inc(p, timeline, 1);
          });
        }
        const start = k.nowNs;
        expect(await syncobjWait(p, fd, [s], k.nowNs + SHORT_TIME_NSEC * 2, flagsForTestFlags(tf))).toBe(true);
        expect(k.nowNs - start).toBeGreaterThanOrEqual(SHORT_TIME_NSEC);
        if (timeline !== -1) p.close(timeline);
        await syncobjDestroy(p, fd, s);
      });
    });
  }

  it('reset-unsignaled', async () => {
    await igtRun(async (p, fd) => {
      const s = await syncobjCreate(p, fd, 0);
      expect(await syncobjWaitErr(p, fd, [s], 0, 0)).toBe(EINVAL);
      await syncobjReset(p, fd, [s]);
      expect(await syncobjWaitErr(p, fd, [s], 0, 0)).toBe(EINVAL);
    });
  });

  it('reset-signaled', async () => {
    await igtRun(async (p, fd) => {
      const s = await syncobjCreate(p, fd, 0);
      await syncobjTrigger(p, fd, s);
      expect(await syncobjWaitErr(p, fd, [s], 0, 0)).toBe(0);
      await syncobjReset(p, fd, [s]);
      expect(await syncobjWaitErr(p, fd, [s], 0, 0)).toBe(EINVAL);
    });
  });

  it('reset-multiple-signaled', async () => {
    await igtRun(async (p, fd) => {
      const s: number[] = [];
      for (let i = 0; i < 3; i++) {
        s.push(await syncobjCreate(p, fd, 0));
        await syncobjTrigger(p, fd, s[i]!);
      }
      expect(await syncobjWaitErr(p, fd, s, 0, 0)).toBe(0);
      await syncobjReset(p, fd, s);
      for (const h of s) expect(await syncobjWaitErr(p, fd, [h], 0, 0)).toBe(EINVAL);
    });
  });

  it('reset-during-wait-for-submit: a reset while a WAIT_FOR_SUBMIT wait sleeps is a no-op for it', async () => {
    await igtRun(async (p, fd, k) => {
      const s = await syncobjCreate(p, fd, 0);
      p.spawn('timer', async () => {
        await msleep(k, SHORT_TIME_NSEC / 1e6);
        await syncobjReset(p, fd, [s]);
        await syncobjTrigger(p, fd, s);
      });
      expect(await syncobjWait(p, fd, [s], k.nowNs + SHORT_TIME_NSEC * 2, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT)).toBe(true);
    });
  });

  it('signal: DRM_IOCTL_SYNCOBJ_SIGNAL installs a signalled fence', async () => {
    await igtRun(async (p, fd) => {
      const s = await syncobjCreate(p, fd, 0);
      const fs = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT;
      expect(await syncobjWaitErr(p, fd, [s], 0, 0)).toBe(EINVAL);
      expect(await syncobjWaitErr(p, fd, [s], 0, fs)).toBe(ETIME);
      await syncobjSignal(p, fd, [s]);
      expect(await syncobjWait(p, fd, [s], 0, 0)).toBe(true);
      expect(await syncobjWait(p, fd, [s], 0, fs)).toBe(true);
    });
  });
});

describe('IGT syncobj_wait: snapshot, complex and interrupted waits', () => {
  const snapshots: [string, number][] = [
    ['wait-any-snapshot', 0],
    ['wait-all-snapshot', WAIT_ALL],
    ['wait-for-submit-snapshot', WAIT_FOR_SUBMIT],
    ['wait-all-for-submit-snapshot', WAIT_ALL | WAIT_FOR_SUBMIT],
  ];
  for (const [name, tf] of snapshots) {
    it(`${name}: the wait keeps the fences it found; a reset and a never-signalled resubmit do not change it`, async () => {
      await igtRun(async (p, fd, k) => {
        const s = [await syncobjCreate(p, fd, 0), await syncobjCreate(p, fd, 0)];
        const timelines = [-1, -1, -1];
        if (!(tf & WAIT_FOR_SUBMIT)) {
          timelines[0] = await syncobjAttachSwSync(p, fd, s[0]!);
          timelines[1] = await syncobjAttachSwSync(p, fd, s[1]!);
        }
        const wait = { handles: s, countHandles: 2, timeoutNsec: k.nowNs + SHORT_TIME_NSEC, flags: flagsForTestFlags(tf), firstSignaled: -1 };
        let waitRet: number | null = null;
        p.spawn('waiter', async () => {
          waitRet = await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_WAIT', wait);
        });
        const step = SHORT_TIME_NSEC / 5 / 1e6;
        await msleep(k, step);
        if (tf & WAIT_ALL) {
          if (timelines[0] === -1) await syncobjTrigger(p, fd, s[0]!);
          else await inc(p, timelines[0]!, 1);
        } else if (tf & WAIT_FOR_SUBMIT) {
          timelines[0] = await syncobjAttachSwSync(p, fd, s[0]!);
        }
        await msleep(k, step);
        await syncobjReset(p, fd, [s[0]!]);
        await msleep(k, step);
        timelines[2] = await syncobjAttachSwSync(p, fd, s[0]!);
        await msleep(k, step);
        if (timelines[1] === -1) await syncobjTrigger(p, fd, s[1]!);
        else await inc(p, timelines[1]!, 1);
        while (waitRet === null) await msleep(k, 1);
        expect(waitRet).toBe(0);
        if (!(tf & WAIT_ALL)) expect(wait.firstSignaled).toBe(1);
        for (const t of timelines) if (t !== -1) p.close(t);
      });
    });
  }

  /** The numbers 0-7 shuffled (IGT's shuffled_0_7_x4). */
  const shuffled = [2, 0, 6, 1, 1, 4, 5, 2, 0, 7, 1, 7, 6, 3, 4, 5, 0, 2, 7, 3, 5, 4, 0, 6, 7, 3, 2, 5, 6, 1, 4, 3];
  const complexes: [string, number][] = [
    ['wait-any-complex', 0],
    ['wait-all-complex', WAIT_ALL],
    ['wait-for-submit-complex', WAIT_FOR_SUBMIT],
    ['wait-all-for-submit-complex', WAIT_ALL | WAIT_FOR_SUBMIT],
  ];
  for (const [name, tf] of complexes) {
    it(`${name}: stages submitted / signalled / reset / resubmitted in shuffled order`, async () => {
      await igtRun(async (p, fd, k) => {
        const s: number[] = [];
        const stage: number[] = [];
        const timelines: number[] = [];
        for (let i = 0; i < 8; i++) {
          s.push(await syncobjCreate(p, fd, 0));
          stage.push(0);
        }
        for (let i = 0; i < 8; i++) timelines.push(tf & WAIT_FOR_SUBMIT ? -1 : await syncobjAttachSwSync(p, fd, s[i]!));
        // IGT waits on count_handles = 2 here (its array has 8): only syncobjs 0 and 1 matter.
        const wait = { handles: s, countHandles: 2, timeoutNsec: k.nowNs + 1e9, flags: flagsForTestFlags(tf), firstSignaled: -1 };
        let waitRet: number | null = null;
        p.spawn('waiter', async () => {
          waitRet = await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_WAIT', wait);
        });
        await msleep(k, 20);
        let numSignaled = 0;
        let firstSignaled = -1;
        for (const i of shuffled) {
          switch (stage[i]!++) {
            case 0:
              if (tf & WAIT_FOR_SUBMIT) timelines[i] = await syncobjAttachSwSync(p, fd, s[i]!);
              break;
            case 1:
              await inc(p, timelines[i]!, 1);
              p.close(timelines[i]!);
              timelines[i] = -1;
              if (numSignaled === 0) firstSignaled = i;
              numSignaled++;
              break;
            case 2:
              await syncobjReset(p, fd, [s[i]!]);
              break;
            case 3:
              timelines[i] = await syncobjAttachSwSync(p, fd, s[i]!);
              break;
            default:
              throw new Error('Should not reach this stage');
          }
          if (tf & WAIT_ALL ? numSignaled === 8 : numSignaled > 0) break;
          await msleep(k, 10);
        }
        while (waitRet === null) await msleep(k, 1);
        // IGT's wait thread asserts success; with count_handles = 2 it is decided by syncobjs 0 and 1.
        expect(waitRet).toBe(0);
        if (tf & WAIT_ALL) {
          expect(numSignaled).toBe(8);
        } else {
          expect(numSignaled).toBe(1);
          expect(wait.firstSignaled).toBe(firstSignaled);
        }
        for (const t of timelines) if (t !== -1) p.close(t);
      });
    });
  }

  for (const [name, tf] of [['wait-any-interrupted', 0], ['wait-all-interrupted', WAIT_ALL]] as const) {
    it(`${name}: a signal ends the wait with -EINTR; restarted, it ends with -ETIME at the deadline`, async () => {
      await igtRun(async (p, fd, k) => {
        const s = await syncobjCreate(p, fd, 0);
        const timeline = await syncobjAttachSwSync(p, fd, s);
        const wait = { handles: [s], countHandles: 1, flags: flagsForTestFlags(tf), timeoutNsec: k.nowNs + SHORT_TIME_NSEC };
        const self = k.current;
        p.spawn('interrupter', async () => {
          await msleep(k, 10);
          k.sendSignal(self);
        });
        const results: number[] = [];
        // igt_while_interruptible: restart the ioctl after each interruption.
        for (;;) {
          const r = await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_WAIT', wait);
          results.push(r);
          if (r !== -Errno.EINTR) break;
          k.flushSignals();
        }
        expect(results).toEqual([-Errno.EINTR, ETIME]);
        p.close(timeline);
      });
    });
  }
});
