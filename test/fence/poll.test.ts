/**
 * poll(2) edge cases found by running the same userspace programs on a real
 * kernel: a negative fd is ignored, and more entries than RLIMIT_NOFILE is
 * -EINVAL (fs/select.c).
 */
import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/kernel/index.ts';
import { POLLIN, POLLNVAL } from '../../src/fence/index.ts';
import type { PollFd } from '../../src/fence/index.ts';
import { createFence, inc, timelineCreate, userRun } from './user-helpers.ts';

describe('poll(2)', () => {
  it('do_pollfd: a negative fd is ignored (revents 0, not counted); a closed fd is POLLNVAL and counted', async () => {
    const { value } = await userRun(async (p) => {
      const tl = timelineCreate(p);
      const fd = await createFence(p, tl, 1);
      await inc(p, tl, 1);
      const fds: PollFd[] = [
        { fd: -1, events: POLLIN, revents: 0xffff },
        { fd, events: POLLIN },
        { fd: -42, events: POLLIN },
      ];
      const n1 = await p.poll(fds, 0);
      const first = fds.map((x) => x.revents);
      const onlyNegative: PollFd[] = [{ fd: -1, events: POLLIN }];
      const n2 = await p.poll(onlyNegative, 0);
      const closed: PollFd[] = [{ fd: 99, events: POLLIN }, { fd: -1, events: POLLIN }];
      const n3 = await p.poll(closed, 0);
      return { n1, first, n2, n2r: onlyNegative[0]!.revents, n3, closed: closed.map((x) => x.revents) };
    }, { seed: 1 });
    expect(value).toEqual({ n1: 1, first: [0, POLLIN, 0], n2: 0, n2r: 0, n3: 1, closed: [POLLNVAL, 0] });
  });

  it('a poll of negative fds only with a timeout sleeps the whole timeout and returns 0', async () => {
    const { value } = await userRun(async (p, k) => {
      const n = await p.poll([{ fd: -1, events: POLLIN }], 5);
      return [n, k.nowNs];
    }, { seed: 1 });
    expect(value).toEqual([0, 5e6]);
  });

  it('do_sys_poll: more entries than RLIMIT_NOFILE is -EINVAL, before anything is polled', async () => {
    const { value } = await userRun(async (p) => {
      p.nofile = 4;
      const ok: PollFd[] = Array.from({ length: 4 }, () => ({ fd: -1, events: POLLIN }));
      const tooMany: PollFd[] = Array.from({ length: 5 }, () => ({ fd: 0, events: POLLIN }));
      return [await p.poll(ok, 0), await p.poll(tooMany, 0), tooMany[0]!.revents];
    }, { seed: 1 });
    expect(value).toEqual([0, -Errno.EINVAL, undefined]);
  });
});
