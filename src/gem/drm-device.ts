import { Mutex } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import type { DmaBuf, DmaBufAttachment, SgTable } from '../buf/index.ts';
import type { Device } from '../pci/index.ts';
import type { DrmGemObject } from './gem-object.ts';

declare module './forward.ts' {
  /** The forward-declared `DrmDevice` of the files below this one is this class. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging: adds DrmDevice's members
  interface DrmDevice extends DrmDeviceClass {}
}
/** The class, under a name the merged declaration above can extend. */
type DrmDeviceClass = DrmDevice;

/** `DRIVER_GEM`: the driver uses GEM. */
export const DRIVER_GEM = 1 << 0;
/** `DRIVER_MODESET`: the driver has KMS (display). */
export const DRIVER_MODESET = 1 << 1;
/** `DRIVER_RENDER`: a render node. */
export const DRIVER_RENDER = 1 << 3;
/** `DRIVER_ATOMIC`: atomic modesetting. */
export const DRIVER_ATOMIC = 1 << 4;
/** `DRIVER_SYNCOBJ`: binary syncobj ioctls. */
export const DRIVER_SYNCOBJ = 1 << 5;
/** `DRIVER_SYNCOBJ_TIMELINE`: timeline syncobj ioctls (signal, query, transfer, timeline wait, eventfd). */
export const DRIVER_SYNCOBJ_TIMELINE = 1 << 6;

/**
 * The parts of `struct drm_driver` GEM and PRIME use. Every hook is
 * optional; the defaults are the core's generic helpers.
 *
 * @kernel struct drm_driver (include/drm/drm_drv.h)
 */
export interface DrmDriver {
  readonly name: string;
  /**
   * `driver_features` (`DRIVER_*`); default `DRIVER_GEM | DRIVER_RENDER |
   * DRIVER_SYNCOBJ | DRIVER_SYNCOBJ_TIMELINE`, a render driver with timeline
   * syncobjs. Without DRIVER_SYNCOBJ the syncobj ioctls are -EOPNOTSUPP.
   */
  readonly features?: number;
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

/** The default `driver_features` (see `DrmDriver.features`). */
export const DRM_DEFAULT_FEATURES = DRIVER_GEM | DRIVER_RENDER | DRIVER_SYNCOBJ | DRIVER_SYNCOBJ_TIMELINE;

/**
 * `drm_core_check_feature(dev, feature)`: the driver has every bit of `feature`.
 *
 * @kernel drm_core_check_feature
 */
export function drmCoreCheckFeature(dev: DrmDevice, feature: number): boolean {
  return ((dev.driver.features ?? DRM_DEFAULT_FEATURES) & feature) === feature;
}
