/**
 * A DRM device node for the simulated userspace: opening it creates a
 * `DrmFile` (with its syncobj handle table), its ioctls are the DRM core
 * ioctls the model has (the syncobj family), closing the last fd releases
 * the file's syncobj handles.
 *
 * @kernel drm_open, drm_release, drm_ioctl (drivers/gpu/drm/drm_file.c, drm_ioctl.c)
 */
import { registerDevice } from '../fence/index.ts';
import type { File, FileContext } from '../fence/index.ts';
import { Errno } from '../kernel/index.ts';
import type { DrmDevice } from './drm-device.ts';
import { DrmFile } from './drm-file.ts';
import { drmSyncobjIoctl } from './syncobj-ioctl.ts';
import { drmSyncobjOpen, drmSyncobjRelease } from './syncobj-handles.ts';

/**
 * An open DRM device file (`struct file` whose `private_data` is a
 * `drm_file`). GEM handles are not released on close here: GEM has no ioctls
 * in the model yet, so handles are created and closed from kernel code
 * (`drmGemHandleCreate` / `drmGemRelease`).
 *
 * @kernel drm_driver_fops / struct drm_file
 */
export class DrmDeviceFile implements File {
  readonly fileType = 'drm';

  constructor(readonly drmFile: DrmFile) {}

  /**
   * `drm_ioctl`: a syncobj ioctl, else -ENOTTY. A wait interrupted by a
   * signal returns -EINTR to userspace (-ERESTARTSYS without SA_RESTART).
   */
  async ioctl(ctx: FileContext, request: string, arg: unknown): Promise<number> {
    const r = drmSyncobjIoctl(this.drmFile, ctx, request, arg);
    if (r === null) return -Errno.ENOTTY;
    const ret = await r;
    return ret === -Errno.ERESTARTSYS ? -Errno.EINTR : ret;
  }

  /** `drm_release` → `drm_file_free`: drop the file's syncobj handles. */
  release(): void {
    drmSyncobjRelease(this.drmFile);
  }
}

/**
 * Make `dev` openable by `UserProcess.open(path)` in its kernel, as a DRM
 * minor (`/dev/dri/renderD128` by default). Each open is a new `DrmFile`.
 *
 * @kernel drm_dev_register, drm_minor_register
 */
export function drmDevRegister(dev: DrmDevice, path = '/dev/dri/renderD128'): string {
  registerDevice(
    path,
    () => {
      const file = new DrmFile(dev);
      drmSyncobjOpen(file);
      return new DrmDeviceFile(file);
    },
    dev.kernel,
  );
  return path;
}

/** The `DrmFile` behind a DRM fd of `ctx.proc`, or null. @kernel drm_file (file->private_data of a DRM fd) */
export function drmFileOfFd(ctx: FileContext, fd: number): DrmFile | null {
  const of = ctx.proc.fds.get(fd);
  return of && of.file instanceof DrmDeviceFile ? of.file.drmFile : null;
}
