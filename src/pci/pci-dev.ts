import { Device } from './device.ts';
import type { DmaParams } from './device.ts';
import type { P2pdmaProvider, SriovCap } from './structs.ts';
import type { PciP2pdma } from './forward.ts';
import type { PciSystem } from './forward.ts';

declare module './forward.ts' {
  /** The forward-declared `PciDev` of the files below this one is this class. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging: adds PciDev's members
  interface PciDev extends PciDevClass {}
}
/** The class, under a name the merged declaration above can extend. */
type PciDevClass = PciDev;

/** Resource flags (`include/linux/ioport.h`). */
export const IORESOURCE_IO = 0x00000100;
export const IORESOURCE_MEM = 0x00000200;
export const IORESOURCE_PREFETCH = 0x00002000;
export const IORESOURCE_MEM_64 = 0x00100000;
export const IORESOURCE_UNSET = 0x20000000;

/** `PCI_STD_NUM_BARS`: BARs 0..5. */
export const PCI_STD_NUM_BARS = 6;
/** `PCI_ROM_RESOURCE`. */
export const PCI_ROM_RESOURCE = 6;
/** `PCI_IOV_RESOURCES`: resources 7..12 hold the VF BARs of an SR-IOV PF. */
export const PCI_IOV_RESOURCES = 7;
/** `PCI_SRIOV_NUM_BARS`. */
export const PCI_SRIOV_NUM_BARS = 6;
/** Number of resources the model keeps per function (std BARs, ROM, IOV BARs). */
export const PCI_NUM_RESOURCES = PCI_IOV_RESOURCES + PCI_SRIOV_NUM_BARS;

/** PCIe device/port types (`PCI_EXP_FLAGS_TYPE` values). */
export const PCI_EXP_TYPE_ENDPOINT = 0x0;
export const PCI_EXP_TYPE_LEG_END = 0x1;
export const PCI_EXP_TYPE_ROOT_PORT = 0x4;
export const PCI_EXP_TYPE_UPSTREAM = 0x5;
export const PCI_EXP_TYPE_DOWNSTREAM = 0x6;
export const PCI_EXP_TYPE_RC_END = 0x9;

/** `PCI_ANY_ID`: an allow-list entry matching every device id. */
export const PCI_ANY_ID = 0xffff_ffff;

/**
 * One resource of a function (`struct resource` as `pci_dev->resource[i]`):
 * the CPU physical range and the PCI bus address of its start. The bus
 * address differs from the CPU address when the host bridge window has an
 * offset (common on arm64 and on some multi-root x86 systems).
 *
 * @kernel struct resource, pci_resource_start, pci_resource_len, pci_bus_address
 */
export interface Resource {
  start: number;
  /** Length in bytes; 0 for an unused slot (`pci_resource_len`). */
  len: number;
  flags: number;
  /** PCI bus address of `start` (`pci_bus_address`). */
  busStart: number;
}

/** A BAR as `PciDev.bar(i)` reports it. */
export interface PciBar {
  readonly index: number;
  readonly start: number;
  readonly len: number;
  readonly flags: number;
  readonly busStart: number;
  /** `pci_bus_address - pci_resource_start`: what a peer adds to a CPU physical address. */
  readonly busOffset: number;
  readonly p2pProvider: P2pdmaProvider | null;
}

/**
 * An empty resource slot.
 *
 * @kernel struct resource (an unused BAR slot: zero start, end and flags)
 */
export function emptyResource(): Resource {
  return { start: 0, len: 0, flags: 0, busStart: 0 };
}

/**
 * `struct pci_bus`: a bus number, the bridge above it (`self`, null on a root
 * bus and on a virtual VF bus) and its devices in discovery order.
 *
 * @kernel struct pci_bus, pci_is_root_bus
 */
export class PciBus {
  readonly devices: PciDev[] = [];
  readonly children: PciBus[] = [];

  constructor(
    readonly number: number,
    readonly parent: PciBus | null,
    readonly self: PciDev | null,
    readonly hostBridge: PciHostBridge,
  ) {}

  /** `pci_is_root_bus`. */
  get isRoot(): boolean {
    return this.parent === null;
  }
}

/** An address window of a host bridge: CPU addresses and the bus addresses they decode to. */
export interface PciWindow {
  cpuStart: number;
  busStart: number;
  size: number;
}

/**
 * `struct pci_host_bridge`: a root complex owning a root bus and an MMIO
 * window. It is a `Device`, the parent of the devices on its root bus.
 *
 * @kernel struct pci_host_bridge, pci_find_host_bridge
 */
export class PciHostBridge extends Device {
  bus!: PciBus;
  /** Next free CPU address in the MMIO window (BAR assignment is a bump allocator). */
  mmioNext: number;
  ioNext = 0x1000;

  constructor(
    readonly system: PciSystem,
    readonly domain: number,
    readonly mmio: PciWindow,
  ) {
    super(`pci${domain.toString(16).padStart(4, '0')}:00`);
    this.mmioNext = mmio.cpuStart;
  }
}

/**
 * `struct pci_dev`: one PCI function. Bridges (root ports, switch ports) have
 * a subordinate bus; SR-IOV virtual functions point at their PF (`physfn`).
 * ACS is the capability's presence (`acsCap`, a config-space offset, 0 when
 * absent) and the ACS Control register (`acsCtrl`).
 *
 * @kernel struct pci_dev
 */
export class PciDev extends Device {
  /** PCIe port/device type, or null for a conventional PCI function (such as a 00.0 host bridge device). */
  pcieType: number | null = PCI_EXP_TYPE_ENDPOINT;
  subordinate: PciBus | null = null;
  acsCap = 0;
  acsCtrl = 0;
  readonly resource: Resource[] = Array.from({ length: PCI_NUM_RESOURCES }, emptyResource);
  isVirtfn = false;
  physfn: PciDev | null = null;
  sriov: SriovCap | null = null;
  /** `pdev->p2pdma`: set by `pcimP2pdmaInit`, cleared when the driver unbinds. */
  p2pdma: PciP2pdma | null = null;
  /** `pdev->non_mappable_bars`: the BARs must not be mapped (no P2P providers). */
  nonMappableBars = false;

  constructor(
    readonly system: PciSystem,
    readonly bus: PciBus,
    /** Bus number in the routing id; differs from `bus.number` for VFs on a virtual bus. */
    readonly busNr: number,
    readonly devfn: number,
    public vendor: number,
    public device: number,
    dma: Partial<DmaParams> = {},
  ) {
    super(pciNameOf(bus.hostBridge.domain, busNr, devfn), bus.self ?? bus.hostBridge, dma);
  }

  /** `PCI_SLOT(devfn)`. */
  get slot(): number {
    return this.devfn >> 3;
  }

  /** `PCI_FUNC(devfn)`. */
  get fn(): number {
    return this.devfn & 7;
  }

  /** `pci_name`: `dddd:bb:ss.f`. */
  get bdf(): string {
    return this.name;
  }

  /**
   * BAR `i` as one record (null when unused): CPU range, bus address, bus
   * offset, and the P2P provider once `pcimP2pdmaInit` made one.
   */
  bar(i: number): PciBar | null {
    const r = this.resource[i];
    if (!r || r.len === 0) return null;
    return {
      index: i,
      start: r.start,
      len: r.len,
      flags: r.flags,
      busStart: r.busStart,
      busOffset: r.busStart - r.start,
      p2pProvider: this.p2pdma?.mem[i] ?? null,
    };
  }

  /** The functions sharing this function's bus and slot (a multi-function device), in function order. */
  functions(): PciDev[] {
    return this.bus.devices.filter((d) => d.busNr === this.busNr && d.slot === this.slot && !d.isVirtfn);
  }
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** `pci_name` format: `dddd:bb:ss.f`. @kernel pci_name */
export function pciNameOf(domain: number, bus: number, devfn: number): string {
  return `${hex(domain, 4)}:${hex(bus, 2)}:${hex(devfn >> 3, 2)}.${devfn & 7}`;
}

/** `pci_name(pdev)`. @kernel pci_name */
export function pciName(pdev: PciDev): string {
  return pdev.name;
}

/** `PCI_DEVFN(slot, fn)`. @kernel PCI_DEVFN */
export function pciDevfn(slot: number, fn: number): number {
  return ((slot & 0x1f) << 3) | (fn & 7);
}

/** `pci_dev_id`: the 16-bit routing id (bus << 8 | devfn). @kernel pci_dev_id */
export function pciDevId(pdev: PciDev): number {
  return ((pdev.busNr & 0xff) << 8) | pdev.devfn;
}

/** `pci_domain_nr(bus)`. @kernel pci_domain_nr */
export function pciDomainNr(pdev: PciDev): number {
  return pdev.bus.hostBridge.domain;
}

/** `dev_is_pci`. @kernel dev_is_pci */
export function devIsPci(dev: Device): dev is PciDev {
  return dev instanceof PciDev;
}

/** `pci_physfn`: the PF of a VF, or the function itself. @kernel pci_physfn */
export function pciPhysfn(pdev: PciDev): PciDev {
  return pdev.isVirtfn && pdev.physfn ? pdev.physfn : pdev;
}

/**
 * `pci_upstream_bridge`: the bridge above a function, or null on a root bus.
 * A VF answers for its PF (VFs may live on a virtual bus with no bridge).
 *
 * @kernel pci_upstream_bridge
 */
export function pciUpstreamBridge(pdev: PciDev): PciDev | null {
  const d = pciPhysfn(pdev);
  if (d.bus.isRoot) return null;
  return d.bus.self;
}

/** `pci_find_host_bridge(pdev->bus)`. @kernel pci_find_host_bridge */
export function pciFindHostBridge(pdev: PciDev): PciHostBridge {
  return pdev.bus.hostBridge;
}

/** `pci_pcie_type`. @kernel pci_pcie_type */
export function pciPcieType(pdev: PciDev): number | null {
  return pdev.pcieType;
}

/** `pci_resource_start`. @kernel pci_resource_start */
export function pciResourceStart(pdev: PciDev, bar: number): number {
  return pdev.resource[bar]?.start ?? 0;
}

/** `pci_resource_len`. @kernel pci_resource_len */
export function pciResourceLen(pdev: PciDev, bar: number): number {
  return pdev.resource[bar]?.len ?? 0;
}

/** `pci_resource_flags`. @kernel pci_resource_flags */
export function pciResourceFlags(pdev: PciDev, bar: number): number {
  return pdev.resource[bar]?.flags ?? 0;
}

/** `pci_bus_address(pdev, bar)`: the PCI bus address of the BAR's start. @kernel pci_bus_address */
export function pciBusAddress(pdev: PciDev, bar: number): number {
  return pdev.resource[bar]?.busStart ?? 0;
}

/**
 * The function's parent device (`pdev->dev.parent`) as a `PciDev`, or null under a host bridge.
 *
 * @kernel to_pci_dev(pdev->dev.parent), as pci_upstream_bridge finds the bridge above a function
 */
export function pciParentDev(pdev: PciDev): PciDev | null {
  return pdev.parent instanceof PciDev ? pdev.parent : null;
}
