import { Mutex } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import type { DmaBuf, DmaBufAttachment, SgTable } from '../buf/index.ts';
import type { Device } from '../pci/index.ts';
import type { DrmGemObject } from './gem-object.ts';

/**
 * The parts of `struct drm_driver` GEM and PRIME use. Every hook is
 * optional; the defaults are the core's generic helpers.
 *
 * @kernel struct drm_driver (include/drm/drm_drv.h)
 */
export interface DrmDriver {
  readonly name: string;
  /** `gem_prime_import`: default `drmGemPrimeImport` (self-import detection, attach, map). */
  gemPrimeImport?(dev: DrmDevice, dmabuf: DmaBuf): Promise<DrmGemObject | number>;
  /**
   * `gem_prime_import_sg_table`: wrap an imported, mapped buffer in a GEM
   * object. Default: a plain object of the buffer's size.
   */
  gemPrimeImportSgTable?(
    dev: DrmDevice,
    attach: DmaBufAttachment,
    sgt: SgTable,
  ): DrmGemObject | number;
}

/**
 * `struct drm_device`: a DRM device, its DMA device and `object_name_lock`
 * (serialises handle creation against PRIME export/import).
 *
 * @kernel struct drm_device (include/drm/drm_device.h)
 */
export class DrmDevice {
  /** `dev->object_name_lock`. */
  readonly objectNameLock: Mutex;

  constructor(
    readonly kernel: Kernel,
    readonly name: string,
    /** `dev->dev`: the device that DMAs (what importers attach). */
    readonly dev: Device,
    readonly driver: DrmDriver = { name },
  ) {
    this.objectNameLock = new Mutex(kernel, `&${name}->object_name_lock`, {
      key: 'drm_device.object_name_lock',
    });
  }

  toString(): string {
    return `drm ${this.name}`;
  }
}
