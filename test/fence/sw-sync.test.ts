import { describe, expect, it } from 'vitest';
import { Errno, Kernel, msleep } from '../../src/kernel/index.ts';
import {
  POLLIN,
  SW_SYNC_PATH,
  SYNC_INFO_PATH,
  syncFileGetFence,
  syncInfoDebugfsShow,
  UserProcess,
} from '../../src/fence/index.ts';
import { rules } from './helpers.ts';
import {
  createFence,
  fileInfo,
  inc,
  merge,
  pollIn,
  status,
  timelineCreate,
  userRun as sharedUserRun,
} from './user-helpers.ts';

function userRun<T>(body: (p: UserProcess, k: Kernel) => Promise<T>, thread = 'igt') {
  return sharedUserRun(body, { seed: 5, thread });
}

describe('sw_sync', () => {
  it('alloc_fence: a point pending until the timeline reaches it; status 0 then 1', async () => {
    const { value, result } = await userRun(async (p) => {
      const tl = timelineCreate(p);
      const f = await createFence(p, tl, 1);
      const s0 = await status(p, f);
      await inc(p, tl, 1);
      const s1 = await status(p, f);
      p.exit();
      return [f >= 0, s0, s1];
    });
    expect(value).toEqual([true, 0, 1]);
    expect(result.splats).toEqual([]);
  });

  it('a point at or below the timeline value is signalled at creation', async () => {
    const { value } = await userRun(async (p) => {
      const tl = timelineCreate(p);
      await inc(p, tl, 5);
      const f = await createFence(p, tl, 3);
      const g = await createFence(p, tl, 5);
      const r = [await status(p, f), await status(p, g)];
      p.exit();
      return r;
    });
    expect(value).toEqual([1, 1]);
  });

  it('CREATE_FENCE at the value of an active point reuses that point', async () => {
    const { value } = await userRun(async (p) => {
      const tl = timelineCreate(p);
      const a = await createFence(p, tl, 10);
      const b = await createFence(p, tl, 10);
      const c = await createFence(p, tl, 11);
      const fa = syncFileGetFence(p, a)!;
      const fb = syncFileGetFence(p, b)!;
      const fc = syncFileGetFence(p, c)!;
      const r = [a !== b, fa === fb, fa === fc];
      fa.put();
      fb.put();
      fc.put();
      p.exit();
      return r;
    });
    expect(value).toEqual([true, true, false]);
  });

  it('INC signals points in order, stopping at the first pending one', async () => {
    const { value, result } = await userRun(async (p) => {
      const tl = timelineCreate(p);
      const fds = [];
      for (const v of [3, 1, 2, 5, 4]) fds.push(await createFence(p, tl, v));
      const order: number[] = [];
      const fences = fds.map((fd) => syncFileGetFence(p, fd)!);
      for (const f of fences) {
        const { DmaFenceCb } = await import('../../src/fence/index.ts');
        f.addCallback(new DmaFenceCb(), (x) => order.push(x.seqno));
      }
      await inc(p, tl, 2);
      const mid = [...order];
      await inc(p, tl, 3);
      for (const f of fences) f.put();
      p.exit();
      return [mid, order];
    });
    expect(value).toEqual([
      [1, 2],
      [1, 2, 3, 4, 5],
    ]);
    expect(result.splats).toEqual([]);
  });

  it('INC in chunks of INT_MAX: a u32 increment of 0xffffffff signals and wraps the value to -1', async () => {
    const { value, k } = await userRun(async (p) => {
      const tl = timelineCreate(p);
      const f = await createFence(p, tl, 0x7ffffffe);
      await inc(p, tl, 0xffffffff);
      const r = await status(p, f);
      return r;
    });
    expect(value).toBe(1);
    expect(syncInfoDebugfsShow(k)).toMatch(/igt: -1\n/);
  });

  it('a timeline started at -127 wraps past 0 with the 32-bit rule (Xe CI style)', async () => {
    const { value, result } = await userRun(async (p) => {
      const tl = timelineCreate(p);
      await inc(p, tl, -127 >>> 0);
      const fds: number[] = [];
      for (let i = 1; i <= 200; i++) fds.push(await createFence(p, tl, (-127 + i) >>> 0));
      const bad: string[] = [];
      for (let i = 0; i < 200; i++) {
        if ((await status(p, fds[i]!)) !== 0) bad.push(`early ${i}`);
        await inc(p, tl, 1);
        if ((await status(p, fds[i]!)) !== 1) bad.push(`late ${i}`);
        if (i + 1 < 200 && (await status(p, fds[i + 1]!)) !== 0) bad.push(`next ${i}`);
      }
      p.exit();
      return bad;
    });
    expect(value).toEqual([]);
    expect(result.splats).toEqual([]);
  });

  it('closing the timeline signals every pending point with -ENOENT; signalled ones keep their status', async () => {
    const { value, result } = await userRun(async (p) => {
      const tl = timelineCreate(p);
      const done = await createFence(p, tl, 1);
      const a = await createFence(p, tl, 2);
      const b = await createFence(p, tl, 3);
      await inc(p, tl, 1);
      const before = [await status(p, a), await pollIn(p, a, 0)];
      p.close(tl);
      const info = await fileInfo(p, b);
      const r = [
        ...before,
        await status(p, done),
        await status(p, a),
        await status(p, b),
        await pollIn(p, b, 0),
        typeof info === 'number' ? info : info.fences[0]!.status,
      ];
      p.exit();
      return r;
    });
    expect(value).toEqual([0, 0, 1, -Errno.ENOENT, -Errno.ENOENT, 1, -Errno.ENOENT]);
    expect(result.splats).toEqual([]);
  });

  it('the timeline lives on while points reference it; the debug dump lists the active points', async () => {
    const { value, k } = await userRun(async (p, k) => {
      const tl = timelineCreate(p);
      const a = await createFence(p, tl, 2);
      await createFence(p, tl, 5);
      await inc(p, tl, 1);
      const infoFd = p.open(SYNC_INFO_PATH);
      const dump1 = p.read(infoFd);
      p.close(tl);
      await msleep(k, 1);
      const dump2 = syncInfoDebugfsShow(k);
      p.close(a);
      const dump3 = syncInfoDebugfsShow(k);
      p.exit();
      return [dump1, dump2, dump3, syncInfoDebugfsShow(k)];
    }, 'sw_sync_test');
    expect(value[0]).toBe(
      'objs:\n--------------\nsw_sync_test: 1\n  fence active: 2 / 1\n  fence active: 5 / 1\n\nfences:\n--------------\n',
    );
    expect(value[1]).toBe(
      'objs:\n--------------\nsw_sync_test: 1\n  fence error@0.000000000: 2 / 1\n  fence error@0.000000000: 5 / 1\n\nfences:\n--------------\n',
    );
    expect(value[2]).toBe(
      'objs:\n--------------\nsw_sync_test: 1\n  fence error@0.000000000: 5 / 1\n\nfences:\n--------------\n',
    );
    expect(value[3]).toBe('objs:\n--------------\nfences:\n--------------\n');
    expect(k).toBeDefined();
  });

  it('the timeline name is the opening task comm, cut to 15 characters', async () => {
    const { value } = await userRun(async (p, k) => {
      timelineCreate(p);
      return syncInfoDebugfsShow(k).split('\n')[2];
    }, 'a-very-long-thread-name');
    expect(value).toBe('a-very-long-thr: 0');
  });

  it('SW_SYNC_GET_DEADLINE: -ENOENT without a deadline, the earliest one after SYNC_IOC_SET_DEADLINE, -EINVAL otherwise', async () => {
    const { value } = await userRun(async (p) => {
      const tl = timelineCreate(p);
      const f = await createFence(p, tl, 1);
      const g = await createFence(p, tl, 2);
      const same = await merge(p, f, g);
      const tl2 = timelineCreate(p);
      const m = await merge(p, f, await createFence(p, tl2, 1));
      const get = async (fenceFd: number, extra: Record<string, number> = {}) => {
        const arg = { deadlineNs: 0, pad: 0, fenceFd, ...extra };
        const r = await p.ioctl(tl, 'SW_SYNC_GET_DEADLINE', arg);
        return r < 0 ? r : arg.deadlineNs;
      };
      const none = await get(f);
      await p.ioctl(f, 'SYNC_IOC_SET_DEADLINE', { deadlineNs: 5000, pad: 0 });
      await p.ioctl(f, 'SYNC_IOC_SET_DEADLINE', { deadlineNs: 9000, pad: 0 });
      await p.ioctl(f, 'SYNC_IOC_SET_DEADLINE', { deadlineNs: 3000, pad: 0 });
      const earliest = await get(f);
      const badPad = await p.ioctl(f, 'SYNC_IOC_SET_DEADLINE', { deadlineNs: 1, pad: 1 });
      await p.ioctl(m, 'SYNC_IOC_SET_DEADLINE', { deadlineNs: 100 });
      const viaMerge = await get(f);
      // A merge of two points of one timeline collapses to the later point: still a sw_sync fence (no deadline on it).
      const r = [
        none,
        earliest,
        badPad,
        viaMerge,
        await get(same),
        await get(m),
        await get(tl),
        await get(99),
        await get(f, { deadlineNs: 1 }),
        await get(f, { pad: 1 }),
      ];
      p.exit();
      return r;
    });
    const E = Errno;
    expect(value).toEqual([
      -E.ENOENT,
      3000,
      -E.EINVAL,
      100,
      -E.ENOENT,
      -E.EINVAL,
      -E.EINVAL,
      -E.EINVAL,
      -E.EINVAL,
      -E.EINVAL,
    ]);
  });

  it('bad requests: -ENOTTY unknown, -EFAULT malformed, -EBADF closed fd', async () => {
    const { value } = await userRun(async (p) => {
      const tl = timelineCreate(p);
      const r = [
        await p.ioctl(tl, 'SYNC_IOC_MERGE', {}),
        await p.ioctl(tl, 'SW_SYNC_IOC_CREATE_FENCE', null),
        await p.ioctl(tl, 'SW_SYNC_IOC_CREATE_FENCE', { value: 'x' }),
        await p.ioctl(tl, 'SW_SYNC_IOC_INC', '1'),
        await p.ioctl(tl, 'SW_SYNC_IOC_INC', 1.5),
        await p.ioctl(tl, 'SW_SYNC_GET_DEADLINE', 7),
        await p.ioctl(42, 'SW_SYNC_IOC_INC', 1),
        p.close(tl),
        p.close(tl),
        await p.ioctl(tl, 'SW_SYNC_IOC_INC', 1),
        p.open('/dev/nonexistent'),
      ];
      return r;
    });
    const E = Errno;
    expect(value).toEqual([
      -E.ENOTTY,
      -E.EFAULT,
      -E.EFAULT,
      -E.EFAULT,
      -E.EFAULT,
      -E.EFAULT,
      -E.EBADF,
      0,
      -E.EBADF,
      -E.EBADF,
      -E.ENOENT,
    ]);
  });

  it('an open timeline with a pending point at the end of the run is an indefinite fence', async () => {
    const { result } = await userRun(async (p) => {
      const tl = timelineCreate(p);
      await createFence(p, tl, 1);
    });
    expect(rules(result)).toEqual(['fence.indefinite']);
    expect(result.splats[0]!.body).toMatch(/sw_sync:igt:1:1/);
  });

  it('poll readiness with a timeout: 0 while pending, POLLIN once signalled', async () => {
    const k = new Kernel({ seed: 9 });
    const p = new UserProcess(k, 'poller');
    const got: unknown[] = [];
    let tl = -1;
    let f = -1;
    p.spawn('setup', async () => {
      tl = timelineCreate(p);
      f = await createFence(p, tl, 1);
      p.spawn('waiter', async () => {
        const fds = [{ fd: f, events: POLLIN, revents: 0 }];
        got.push(await p.poll(fds, 5), k.nowNs);
        got.push(await p.poll(fds, 1000), fds[0]!.revents, k.nowNs);
        got.push(await p.poll([{ fd: 77, events: POLLIN }], -1));
        p.exit();
      });
      await msleep(k, 20);
      await inc(p, tl, 1);
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(got).toEqual([0, 5e6, 1, POLLIN, 21e6, 1]);
    expect(SW_SYNC_PATH).toMatch(/sw_sync$/);
  });
});
