import { describe, expect, it } from 'vitest';
import { Errno, Kernel, msleep, Prng } from '../../src/kernel/index.ts';
import {
  DmaFence,
  POLLIN,
  syncFileCreate,
  syncFileGetFence,
  syncFileGetName,
  UserProcess,
} from '../../src/fence/index.ts';
import { mockFence, rules } from './helpers.ts';
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

function userRun<T>(body: (p: UserProcess, k: Kernel) => Promise<T>) {
  return sharedUserRun(body, { seed: 11 });
}

describe('sync_file', () => {
  it('create takes a reference; the default name is driver-timeline<context>-<seqno>; release drops it', async () => {
    const { value, result } = await userRun(async (p, k) => {
      const f = mockFence(k, 12, 34);
      const sf = syncFileCreate(k, f)!;
      const refs = f.refcount.read();
      const fd = p.installFile(sf);
      const name = syncFileGetName(sf);
      const info = await fileInfo(p, fd);
      p.close(fd);
      const after = f.refcount.read();
      f.signal();
      return [
        refs,
        name,
        typeof info === 'number' ? info : [info.name, info.status, info.num],
        after,
      ];
    });
    expect(value).toEqual([2, 'mock-mock12-34', ['mock-mock12-34', 0, 1], 1]);
    expect(result.splats).toEqual([]);
  });

  it('merge with itself is allowed and gives the same (single) fence', async () => {
    const { value } = await userRun(async (p) => {
      const tl = timelineCreate(p);
      const a = await createFence(p, tl, 1);
      const m = await merge(p, a, a, 'self');
      const fa = syncFileGetFence(p, a)!;
      const fm = syncFileGetFence(p, m)!;
      const info = await fileInfo(p, m);
      const r = [m > a, fa === fm, typeof info === 'number' ? info : [info.name, info.num]];
      fa.put();
      fm.put();
      p.exit();
      return r;
    });
    expect(value).toEqual([true, true, ['self', 1]]);
  });

  it('merge: -ENOENT when fd2 is not a sync_file, -EINVAL for flags or pad, -EFAULT for a malformed argument', async () => {
    const { value } = await userRun(async (p) => {
      const tl = timelineCreate(p);
      const a = await createFence(p, tl, 1);
      const r = [
        await merge(p, a, tl),
        await merge(p, a, 99),
        await p.ioctl(a, 'SYNC_IOC_MERGE', { fd2: a, flags: 1 }),
        await p.ioctl(a, 'SYNC_IOC_MERGE', { fd2: a, pad: 2 }),
        await p.ioctl(a, 'SYNC_IOC_MERGE', { fd2: 'a' }),
        await p.ioctl(a, 'SYNC_IOC_MERGE', 5),
        await p.ioctl(a, 'SYNC_IOC_WHATEVER', {}),
        await p.ioctl(a, 'SYNC_IOC_FILE_INFO', { flags: 1 }),
      ];
      p.exit();
      return r;
    });
    const E = Errno;
    expect(value).toEqual([
      -E.ENOENT,
      -E.ENOENT,
      -E.EINVAL,
      -E.EINVAL,
      -E.EFAULT,
      -E.EFAULT,
      -E.ENOTTY,
      -E.EINVAL,
    ]);
  });

  it('merge names are cut to 31 characters', async () => {
    const { value } = await userRun(async (p) => {
      const tl = timelineCreate(p);
      const a = await createFence(p, tl, 1);
      const m = await merge(p, a, a, 'x'.repeat(40));
      const info = await fileInfo(p, m);
      p.exit();
      return typeof info === 'number' ? info : info.name;
    });
    expect(value).toBe('x'.repeat(31));
  });

  it('FILE_INFO on merged files: two-call protocol, per-leaf status and timestamps, aggregate status', async () => {
    const { value, result } = await userRun(async (p, k) => {
      const t1 = timelineCreate(p);
      const t2 = timelineCreate(p);
      const t3 = timelineCreate(p);
      const a = await createFence(p, t1, 1);
      const b = await createFence(p, t2, 1);
      const c = await createFence(p, t3, 1);
      const ab = await merge(p, a, b, 'ab');
      const abc = await merge(p, ab, c, 'abc');
      await msleep(k, 3);
      await inc(p, t1, 1);
      const partial = await fileInfo(p, abc);
      const tooSmall = await p.ioctl(abc, 'SYNC_IOC_FILE_INFO', {
        numFences: 2,
        syncFenceInfo: [],
      });
      const noBuffer = await p.ioctl(abc, 'SYNC_IOC_FILE_INFO', { numFences: 3 });
      p.close(t3);
      await inc(p, t2, 1);
      const done = await fileInfo(p, abc);
      p.exit();
      return { partial, tooSmall, noBuffer, done };
    });
    const E = Errno;
    expect(value.tooSmall).toBe(-E.EINVAL);
    expect(value.noBuffer).toBe(-E.EFAULT);
    const partial = value.partial as Exclude<typeof value.partial, number>;
    expect([partial.name, partial.num, partial.status]).toEqual(['abc', 3, 0]);
    expect(
      partial.fences.map((f) => [f.objName, f.driverName, f.status, f.timestampNs, f.flags]),
    ).toEqual([
      ['signaled-timeline', 'detached-driver', 1, 4e6, 0],
      ['igt', 'sw_sync', 0, 0, 0],
      ['igt', 'sw_sync', 0, 0, 0],
    ]);
    const done = value.done as Exclude<typeof value.done, number>;
    expect(done.fences.map((f) => f.status)).toEqual([1, 1, -E.ENOENT]);
    expect(done.status).toBe(-E.ENOENT);
    expect(result.splats).toEqual([]);
  });

  it('poll: the first poll arms a callback that wakes pollers; error-signalled fences are readable too', async () => {
    const k = new Kernel({ seed: 3 });
    const p = new UserProcess(k, 'app');
    const f = mockFence(k, 1, 1);
    const got: unknown[] = [];
    p.spawn('poller', async () => {
      const fd = p.installFile(syncFileCreate(k, f)!);
      got.push(await pollIn(p, fd, 0));
      const fds = [{ fd, events: POLLIN }];
      got.push(await p.poll(fds, -1), k.nowNs, (fds[0] as { revents?: number }).revents);
      got.push(await status(p, fd));
      p.close(fd);
      got.push(f.cbHead === null);
    });
    p.spawn('driver', async () => {
      await msleep(k, 7);
      f.setError(-Errno.EIO);
      f.signal();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(got).toEqual([0, 1, 8e6, POLLIN, -Errno.EIO, true]);
    expect(r.splats).toEqual([]);
  });

  it('closing a polled sync_file removes its callback; the fence can still be signalled', async () => {
    const k = new Kernel({ seed: 3 });
    const p = new UserProcess(k, 'app');
    const f = mockFence(k, 1, 1);
    p.spawn('t', async () => {
      const fd = p.installFile(syncFileCreate(k, f)!);
      await pollIn(p, fd, 0);
      const queued = f.cbHead !== null;
      p.close(fd);
      expect([queued, f.cbHead, f.refcount.read()]).toEqual([true, null, 1]);
      f.signal();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
  });
});

describe('processes sharing fences', () => {
  it('a passed fd shares the open file: released only when both processes closed it', async () => {
    const k = new Kernel({ seed: 1 });
    const a = new UserProcess(k, 'a');
    const b = new UserProcess(k, 'b');
    const f = mockFence(k, 1, 1);
    const seen: unknown[] = [];
    a.spawn('a', () => {
      const fd = a.installFile(syncFileCreate(k, f)!);
      const fdb = a.passFd(fd, b);
      seen.push(fdb, a.passFd(55, b), f.refcount.read());
      a.close(fd);
      seen.push(f.refcount.read());
      const g = syncFileGetFence(b, fdb)!;
      seen.push(g === f);
      g.put();
      b.close(fdb);
      seen.push(f.refcount.read());
      f.signal();
    });
    await k.run();
    expect(seen).toEqual([0, -Errno.EBADF, 2, 2, true, 1]);
  });

  it('several producer and consumer processes synchronise through sw_sync timelines (deterministic per seed)', async () => {
    const runOnce = async (seed: number) => {
      const k = new Kernel({ seed });
      const producers = [0, 1, 2].map((i) => new UserProcess(k, `producer${i}`));
      const consumers = [0, 1].map((i) => new UserProcess(k, `consumer${i}`));
      const log: string[] = [];
      const ROUNDS = 8;
      const queues = consumers.map(() => [] as number[]);
      producers.forEach((p, pi) => {
        p.spawn(`prod${pi}`, async () => {
          const tl = timelineCreate(p);
          const prng = new Prng(seed * 31 + pi);
          for (let r = 1; r <= ROUNDS; r++) {
            const fd = await createFence(p, tl, r);
            consumers.forEach((c, ci) => queues[ci]!.push(p.passFd(fd, c)));
            p.close(fd);
            await msleep(k, 1 + prng.below(3));
            await inc(p, tl, 1);
            log.push(`p${pi}:${r}`);
          }
          p.close(tl);
        });
      });
      consumers.forEach((c, ci) => {
        c.spawn(`cons${ci}`, async () => {
          let done = 0;
          while (done < ROUNDS * producers.length) {
            const fd = queues[ci]!.shift();
            if (fd === undefined) {
              await msleep(k, 1);
              continue;
            }
            const ready = await pollIn(c, fd, 1000);
            const st = await status(c, fd);
            if (ready !== 1 || st !== 1) log.push(`c${ci}: bad ${ready} ${st}`);
            c.close(fd);
            done++;
          }
          log.push(`c${ci}: done`);
        });
      });
      const r = await k.run();
      return { r, log };
    };
    const one = await runOnce(4);
    const two = await runOnce(4);
    expect(one.r.failure).toBeNull();
    expect(one.r.splats).toEqual([]);
    expect(one.log.filter((l) => l.includes('bad'))).toEqual([]);
    expect(one.log.filter((l) => l.endsWith('done')).sort()).toEqual(['c0: done', 'c1: done']);
    expect(two.log).toEqual(one.log);
    expect(rules(one.r)).toEqual([]);
  });

  it('dup shares the open file; the lowest free fd is used', async () => {
    const k = new Kernel();
    const p = new UserProcess(k, 'p');
    const f = mockFence(k);
    const seen: number[] = [];
    p.spawn('t', () => {
      const a = p.installFile(syncFileCreate(k, f)!);
      const b = p.dup(a);
      p.close(a);
      const c = p.installFile(syncFileCreate(k, f)!);
      seen.push(a, b, c, p.dup(9), f.refcount.read());
      p.exit();
      seen.push(f.refcount.read());
      f.signal();
    });
    await k.run();
    expect(seen).toEqual([0, 1, 0, -Errno.EBADF, 3, 1]);
  });

  it('EMFILE when the fd table is full', async () => {
    const k = new Kernel();
    const p = new UserProcess(k, 'p');
    p.nofile = 2;
    const f = mockFence(k);
    p.spawn('t', () => {
      const r = [
        p.installFile(syncFileCreate(k, f)!),
        p.installFile(syncFileCreate(k, f)!),
        p.installFile(syncFileCreate(k, f)!),
      ];
      expect(r).toEqual([0, 1, -Errno.EMFILE]);
      expect(f.refcount.read()).toBe(3);
      p.exit();
      f.signal();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(DmaFence).toBeDefined();
  });
});
