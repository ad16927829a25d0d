import { msleep, RwSemaphore, WaitQueueHead } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import { pcimP2pdmaInit, pciP2pdmaRelease } from '../pci/index.ts';
import type { P2pdmaProvider, PciDev } from '../pci/index.ts';
import type { PhysVec } from '../buf/index.ts';
import { vfioPciCoreFeatureDmaBuf, vfioPciCoreGetDmabufPhys, vfioPciDmaBufCleanup, vfioPciDmaBufMove } from './vfio-dmabuf.ts';
import type { VfioDeviceFeatureDmaBuf, VfioPciDmaBuf, VfioRegionDmaRange } from './vfio-dmabuf.ts';
import type { DmaBuf } from '../buf/index.ts';

declare module './forward.ts' {
  /** The forward-declared `VfioPciDevice` of the files below this one is this class. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging: adds VfioPciDevice's members
  interface VfioPciDevice extends VfioPciDeviceClass {}
}
/** The class, under a name the merged declaration above can extend. */
type VfioPciDeviceClass = VfioPciDevice;

/** `struct vfio_pci_device_ops`: variant-driver hooks. */
export interface VfioPciDeviceOps {
  /** `get_dmabuf_phys`: null means the device cannot export (`-EOPNOTSUPP`). Default: the core's. */
  getDmabufPhys: ((vdev: VfioPciDevice, bar: number, ranges: readonly VfioRegionDmaRange[]) => { provider: P2pdmaProvider; phys: PhysVec[] } | number) | null;
}

/** PCI power states the model distinguishes. */
export type PciPowerState = 'D0' | 'D3hot';

/**
 * A PCI function bound to vfio-pci: its `memory_lock`, its exported
 * dma-bufs, and the events that must revoke them — FLR / hot reset /
 * VFIO_DEVICE_RESET, clearing PCI_COMMAND_MEMORY, entering D3hot (or
 * runtime PM) — and restore them afterwards when memory decoding is on,
 * plus close (permanent revoke) and unbind (the P2P providers go away).
 * `pcim_p2pdma_init` runs at bind ("P2P by default").
 *
 * @kernel struct vfio_pci_core_device (drivers/vfio/pci/vfio_pci_core.c, vfio_pci_config.c)
 */
export class VfioPciDevice {
  /** `memory_lock`: protects the dma-buf list and serialises revoke with memory access changes. */
  readonly memoryLock: RwSemaphore;
  /** `vdev->dmabufs`. */
  readonly dmabufs = new Set<VfioPciDmaBuf>();
  readonly ops: VfioPciDeviceOps;
  /** PCI_COMMAND_MEMORY. */
  memoryEnabled = true;
  powerState: PciPowerState = 'D0';
  /** A reset is in progress (MMIO must not be touched). */
  resetting = false;
  /** The device file is open. */
  open = true;
  /** Driver bound and registered (`vfio_device` registration live). */
  registered = true;
  /** Resets done. */
  resets = 0;
  /** `vfio_device_try_get_registration` references held (by dma-bufs). */
  registrationRefs = 0;
  private readonly regWq: WaitQueueHead;

  constructor(
    readonly kernel: Kernel,
    readonly pdev: PciDev,
    opts: { ops?: Partial<VfioPciDeviceOps> } = {},
  ) {
    this.ops = { getDmabufPhys: vfioPciCoreGetDmabufPhys, ...opts.ops };
    this.memoryLock = new RwSemaphore(kernel, `&vdev->memory_lock(${pdev.name})`, { key: 'vfio_pci_core_device.memory_lock' });
    this.regWq = new WaitQueueHead(kernel, `${pdev.name}.registration`);
    const r = pcimP2pdmaInit(pdev);
    if (r) throw new Error(`pcim_p2pdma_init(${pdev.name}): ${r}`);
  }

  get name(): string {
    return this.pdev.name;
  }

  /** `__vfio_pci_memory_enabled` and in D0: MMIO may be accessed. */
  memoryAccessible(): boolean {
    return this.memoryEnabled && this.powerState === 'D0' && !this.resetting;
  }

  /** `vfio_device_try_get_registration`. */
  tryGetRegistration(): boolean {
    if (!this.registered) return false;
    this.registrationRefs++;
    return true;
  }

  /** `vfio_device_put_registration`. */
  putRegistration(): void {
    this.registrationRefs--;
    this.regWq.wakeUpAll();
  }

  /** `VFIO_DEVICE_FEATURE_DMA_BUF` (see `vfioPciCoreFeatureDmaBuf`). */
  featureDmaBuf(args: VfioDeviceFeatureDmaBuf): Promise<DmaBuf | number> {
    return vfioPciCoreFeatureDmaBuf(this, args);
  }

  /**
   * A reset (FLR, hot reset, `VFIO_DEVICE_RESET`): revoke every buffer
   * before, reset (100 ms in virtual time), un-revoke after if memory
   * decoding is enabled. Process context.
   *
   * @kernel vfio_pci_core_ioctl(VFIO_DEVICE_RESET) → vfio_pci_zap_and_down_write_memory_lock, pci_try_reset_function
   */
  async reset(): Promise<void> {
    await this.memoryLock.downWrite();
    await vfioPciDmaBufMove(this, true);
    this.resetting = true;
    await msleep(this.kernel, 100);
    this.resetting = false;
    this.resets++;
    if (this.memoryAccessible()) await vfioPciDmaBufMove(this, false);
    this.memoryLock.upWrite();
  }

  /** Function-level reset (same sequence as `reset`). */
  flr(): Promise<void> {
    return this.reset();
  }

  /**
   * A config write to PCI_COMMAND: clearing MEMORY revokes, setting it
   * un-revokes (in D0). Process context.
   *
   * @kernel vfio_basic_config_write
   */
  async setCommandMemory(enable: boolean): Promise<void> {
    await this.memoryLock.downWrite();
    const was = this.memoryAccessible();
    this.memoryEnabled = enable;
    const now = this.memoryAccessible();
    if (was && !now) await vfioPciDmaBufMove(this, true);
    else if (!was && now) await vfioPciDmaBufMove(this, false);
    this.memoryLock.upWrite();
  }

  /** A power-state change: D3hot (or runtime suspend) revokes, back to D0 un-revokes if memory is enabled. */
  async setPowerState(state: PciPowerState): Promise<void> {
    await this.memoryLock.downWrite();
    const was = this.memoryAccessible();
    this.powerState = state;
    const now = this.memoryAccessible();
    if (was && !now) await vfioPciDmaBufMove(this, true);
    else if (!was && now) await vfioPciDmaBufMove(this, false);
    this.memoryLock.upWrite();
  }

  /** Device close: every exported buffer is revoked for good. Process context. */
  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await vfioPciDmaBufCleanup(this);
  }

  /**
   * Driver unbind (`vfio_pci_core_unregister_device` and remove): close,
   * stop new registrations, and destroy the BARs' P2P providers (devres).
   * Anything still mapping the MMIO past this point is a use after free.
   */
  async unbind(): Promise<void> {
    await this.close();
    this.registered = false;
    pciP2pdmaRelease(this.pdev);
  }
}
