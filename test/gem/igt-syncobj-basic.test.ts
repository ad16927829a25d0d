/**
 * IGT `tests/syncobj_basic.c`, ported subtest by subtest against the model's
 * DRM device node and syncobj ioctls.
 */
import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/kernel/index.ts';
import { DRIVER_GEM, DRM_SYNCOBJ_CREATE_SIGNALED } from '../../src/gem/index.ts';
import {
  __syncobjFdToHandle,
  __syncobjHandleToFd,
  igtRun,
  syncobjCreate,
  syncobjDestroy,
  syncobjFdToHandle,
  syncobjHandleToFd,
  syncobjWaitErr,
} from './syncobj-helpers.ts';

const EINVAL = -Errno.EINVAL;

describe('IGT syncobj_basic', () => {
  it('bad-destroy: destroying a random handle is -EINVAL', async () => {
    await igtRun(async (p, fd) => {
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_DESTROY', { handle: 0xdeadbeef, pad: 0 })).toBe(EINVAL);
    });
  });

  it('bad-create-flags: unknown create flags are -EINVAL', async () => {
    await igtRun(async (p, fd) => {
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_CREATE', { flags: 0xdeadbeef })).toBe(EINVAL);
    });
  });

  it('bad-handle-to-fd: exporting an unknown handle is -EINVAL', async () => {
    await igtRun(async (p, fd) => {
      expect(await __syncobjHandleToFd(p, fd, { handle: 0xdeadbeef, flags: 0 })).toBe(EINVAL);
    });
  });

  it('bad-fd-to-handle: importing fd -1 is -EINVAL', async () => {
    await igtRun(async (p, fd) => {
      expect(await __syncobjFdToHandle(p, fd, { fd: -1, flags: 0 })).toBe(EINVAL);
    });
  });

  it('bad-flags-handle-to-fd / bad-flags-fd-to-handle: unknown flags are -EINVAL', async () => {
    await igtRun(async (p, fd) => {
      expect(await __syncobjHandleToFd(p, fd, { flags: 0xdeadbeef })).toBe(EINVAL);
      expect(await __syncobjFdToHandle(p, fd, { flags: 0xdeadbeef })).toBe(EINVAL);
    });
  });

  it('bad-pad-handle-to-fd / bad-pad-fd-to-handle: a non-zero pad is -EINVAL', async () => {
    await igtRun(async (p, fd) => {
      expect(await __syncobjHandleToFd(p, fd, { pad: 0xdeadbeef })).toBe(EINVAL);
      expect(await __syncobjFdToHandle(p, fd, { pad: 0xdeadbeef })).toBe(EINVAL);
    });
  });

  it('illegal-fd-to-handle: importing an fd that is not a syncobj fd (the DRM fd itself) is -EINVAL', async () => {
    await igtRun(async (p, fd) => {
      expect(await __syncobjFdToHandle(p, fd, { fd, flags: 0 })).toBe(EINVAL);
    });
  });

  it('bad-destroy-pad: destroy with data in the padding is -EINVAL and destroys nothing', async () => {
    await igtRun(async (p, fd) => {
      const handle = await syncobjCreate(p, fd, 0);
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_DESTROY', { handle, pad: 0xdeadbeef })).toBe(EINVAL);
      await syncobjDestroy(p, fd, handle);
    });
  });

  it('create-signaled: a syncobj created signalled can be waited on at once', async () => {
    await igtRun(async (p, fd) => {
      const s = await syncobjCreate(p, fd, DRM_SYNCOBJ_CREATE_SIGNALED);
      expect(await syncobjWaitErr(p, fd, [s], 0, 0)).toBe(0);
      await syncobjDestroy(p, fd, s);
    });
  });

  it('test-valid-cycle: handle -> fd -> handle gives a new handle (no de-duplication) for the same syncobj', async () => {
    await igtRun(async (p, fd) => {
      const first = await syncobjCreate(p, fd, 0);
      const sfd = await syncobjHandleToFd(p, fd, first);
      const second = await syncobjFdToHandle(p, fd, sfd);
      p.close(sfd);
      expect(second).not.toBe(first);
      // Both handles name one object: signalling through one is seen through the other.
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_SIGNAL', { handles: [first], countHandles: 1 })).toBe(0);
      expect(await syncobjWaitErr(p, fd, [second], 0, 0)).toBe(0);
      await syncobjDestroy(p, fd, first);
      await syncobjDestroy(p, fd, second);
    });
  });

  it('a driver without DRIVER_SYNCOBJ: the syncobj ioctls are -EOPNOTSUPP (drm_core_check_feature)', async () => {
    await igtRun(async (p, fd) => {
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_CREATE', { flags: 0 })).toBe(-Errno.EOPNOTSUPP);
      expect(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_QUERY', { handles: [1], countHandles: 1 })).toBe(-Errno.EOPNOTSUPP);
    }, { features: DRIVER_GEM });
  });

  it('closing the DRM fd releases its handles; a syncobj fd keeps the object alive', async () => {
    await igtRun(async (p, fd) => {
      const h = await syncobjCreate(p, fd, DRM_SYNCOBJ_CREATE_SIGNALED);
      const sfd = await syncobjHandleToFd(p, fd, h);
      const fd2 = p.dup(fd);
      expect(p.close(fd)).toBe(0);
      // the DRM file is still open through fd2
      expect(await syncobjWaitErr(p, fd2, [h], 0, 0)).toBe(0);
      p.close(fd2);
      const { drmOpenDriver } = await import('./syncobj-helpers.ts');
      const fd3 = drmOpenDriver(p);
      const h3 = await syncobjFdToHandle(p, fd3, sfd);
      expect(await syncobjWaitErr(p, fd3, [h3], 0, 0)).toBe(0);
      expect(await syncobjWaitErr(p, fd3, [h3 + 1], 0, 0)).toBe(-Errno.ENOENT);
      p.close(sfd);
    });
  });
});
