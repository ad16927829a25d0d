import type { Kernel } from '../kernel/index.ts';
import { pciSetAcs } from './acs.ts';
import type { DmaParams } from './device.ts';
import { PAGE_SIZE } from './memory.ts';
import { DEFAULT_P2PDMA_WHITELIST } from './p2pdma-map.ts';
import type { P2pdmaWhitelistEntry } from './p2pdma-map.ts';
import {
  IORESOURCE_IO,
  IORESOURCE_MEM,
  IORESOURCE_MEM_64,
  IORESOURCE_PREFETCH,
  PCI_EXP_TYPE_DOWNSTREAM,
  PCI_EXP_TYPE_ENDPOINT,
  PCI_EXP_TYPE_RC_END,
  PCI_EXP_TYPE_ROOT_PORT,
  PCI_EXP_TYPE_UPSTREAM,
  PCI_IOV_RESOURCES,
  PCI_STD_NUM_BARS,
  PciBus,
  PciDev,
  PciHostBridge,
  pciDevfn,
  pciName,
} from './pci-dev.ts';
import type { PciWindow, Resource } from './pci-dev.ts';

declare module './forward.ts' {
  /** The forward-declared `PciSystem` of the files below this one is this class. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging: adds PciSystem's members
  interface PciSystem extends PciSystemClass {}
}
/** The class, under a name the merged declaration above can extend. */
type PciSystemClass = PciSystem;

/** The CPU, for `cpu_supports_p2pdma` (AMD family 0x17 "Zen" and newer allow P2P through any host bridge). */
export interface CpuInfo {
  readonly vendor: 'amd' | 'intel' | 'arm' | 'other';
  readonly family: number;
}

/** One BAR of a function: a power-of-two size, memory (default) or I/O, optionally at a fixed address. */
export interface BarSpec {
  readonly size: number;
  readonly type?: 'mem' | 'io';
  readonly prefetch?: boolean;
  /** A 64-bit memory BAR: it takes two BAR slots, the next slot stays empty. */
  readonly mem64?: boolean;
  /** Fixed CPU physical start; default: assigned from the host bridge window. */
  readonly start?: number;
  /** Fixed bus address of the start; default: through the host bridge window's offset. */
  readonly busStart?: number;
}

/** SR-IOV capability of a PF: `bars` are the per-VF BAR sizes. */
export interface SriovSpec {
  readonly totalVFs: number;
  readonly vfDevice?: number;
  readonly offset?: number;
  readonly stride?: number;
  readonly bars?: readonly (BarSpec | null)[];
}

/** What to create for one function. */
export interface FunctionSpec {
  readonly vendor?: number;
  readonly device?: number;
  readonly slot?: number;
  readonly fn?: number;
  readonly bars?: readonly (BarSpec | null)[];
  /** ACS Control value (gives the function an ACS capability); null or absent: no capability. */
  readonly acs?: number | null;
  readonly sriov?: SriovSpec;
  readonly nonMappableBars?: boolean;
  readonly dma?: Partial<DmaParams>;
}

/** A PCIe switch: one upstream port and its downstream ports. */
export interface PciSwitch {
  readonly upstream: PciDev;
  readonly downstream: PciDev[];
}

/** Options of a `PciSystem`: the CPU (for the host-bridge P2P allow-list) and the allow-list itself. */
export interface PciSystemOptions {
  readonly cpu?: CpuInfo;
  /** The P2P host-bridge allow-list (default: the kernel's `pci_p2pdma_whitelist`). */
  readonly whitelist?: readonly P2pdmaWhitelistEntry[];
  /** A kernel for WARN splats and deterministic choices (optional: the PCI model is pure data). */
  readonly kernel?: Kernel | null;
}

/** Vendor ids used as defaults. */
export const PCI_VENDOR_ID_INTEL = 0x8086;
export const PCI_VENDOR_ID_AMD = 0x1022;

/**
 * A machine's PCI hierarchy: host bridges, buses, functions, and the
 * platform facts the P2P classification consults (the CPU, the allow-list).
 * Builder methods create functions in enumeration order, numbering buses
 * as they appear and assigning BAR addresses from each host bridge's window.
 * Messages the kernel would print (`pci_warn`, `pci_info`) go to `messages`.
 *
 * @kernel the result of PCI enumeration (drivers/pci/probe.c, setup-bus.c)
 */
export class PciSystem {
  readonly hostBridges: PciHostBridge[] = [];
  /** Every function, in `for_each_pci_dev` order. */
  readonly devices: PciDev[] = [];
  readonly messages: string[] = [];
  cpu: CpuInfo;
  whitelist: readonly P2pdmaWhitelistEntry[];
  readonly kernel: Kernel | null;
  private readonly maxBus = new Map<number, number>();

  constructor(opts: PciSystemOptions = {}) {
    this.cpu = opts.cpu ?? { vendor: 'intel', family: 6 };
    this.whitelist = opts.whitelist ?? DEFAULT_P2PDMA_WHITELIST;
    this.kernel = opts.kernel ?? null;
  }

  /**
   * A host bridge with root bus `busNr` in `domain`. `hostBridgeDevice`
   * adds the conventional 00.0 host-bridge function the allow-list is keyed
   * on; without it the allow-list looks at the first root port.
   */
  addHostBridge(
    opts: {
      domain?: number;
      busNr?: number;
      mmio?: Partial<PciWindow>;
      hostBridgeDevice?: { vendor: number; device: number } | null;
    } = {},
  ): PciHostBridge {
    const domain = opts.domain ?? this.hostBridges.length;
    const cpuStart = opts.mmio?.cpuStart ?? 0x40_0000_0000 + this.hostBridges.length * 0x10_0000_0000;
    const hb = new PciHostBridge(this, domain, {
      cpuStart,
      busStart: opts.mmio?.busStart ?? cpuStart,
      size: opts.mmio?.size ?? 0x10_0000_0000,
    });
    const busNr = opts.busNr ?? 0;
    hb.bus = new PciBus(busNr, null, null, hb);
    this.noteBus(domain, busNr);
    this.hostBridges.push(hb);
    if (opts.hostBridgeDevice) {
      this.makeFunction(hb.bus, pciDevfn(0, 0), { ...opts.hostBridgeDevice }, null);
    }
    return hb;
  }

  /** A root port on `hb`'s root bus, with a new subordinate bus. */
  addRootPort(hb: PciHostBridge, spec: FunctionSpec = {}): PciDev {
    const devfn = this.pickDevfn(hb.bus, spec, true);
    const rp = this.makeFunction(hb.bus, devfn, spec, PCI_EXP_TYPE_ROOT_PORT);
    this.addSubordinate(rp);
    return rp;
  }

  /**
   * A switch below `port` (a root port or a downstream port): an upstream
   * port, an internal bus, and `downstreamPorts` downstream ports each with
   * its own bus. `downstream` specs apply to every downstream port.
   */
  addSwitch(
    port: PciDev,
    spec: { downstreamPorts: number; upstream?: FunctionSpec; downstream?: FunctionSpec },
  ): PciSwitch {
    const below = this.subordinateOf(port);
    const up = this.makeFunction(below, this.pickDevfn(below, spec.upstream ?? {}, false), spec.upstream ?? {}, PCI_EXP_TYPE_UPSTREAM);
    const internal = this.addSubordinate(up);
    const downstream: PciDev[] = [];
    for (let i = 0; i < spec.downstreamPorts; i++) {
      const d = this.makeFunction(internal, pciDevfn(i, 0), { ...spec.downstream, slot: i, fn: 0 }, PCI_EXP_TYPE_DOWNSTREAM);
      this.addSubordinate(d);
      downstream.push(d);
    }
    return { upstream: up, downstream };
  }

  /**
   * An endpoint function below `parent` (a port, or directly on a host
   * bridge's root bus as a root-complex integrated endpoint). Add function
   * 1.. of a multi-function device with the same `slot` and another `fn`.
   */
  addEndpoint(parent: PciDev | PciHostBridge, spec: FunctionSpec = {}): PciDev {
    const bus = parent instanceof PciHostBridge ? parent.bus : this.subordinateOf(parent);
    const type = parent instanceof PciHostBridge ? PCI_EXP_TYPE_RC_END : PCI_EXP_TYPE_ENDPOINT;
    return this.makeFunction(bus, this.pickDevfn(bus, spec, parent instanceof PciHostBridge), spec, type);
  }

  /** The function named `dddd:bb:ss.f`. */
  getDevice(name: string): PciDev | undefined {
    return this.devices.find((d) => d.name === name);
  }

  /** Add an enumerated function (used by the builder and by SR-IOV). */
  registerDevice(d: PciDev): void {
    d.bus.devices.push(d);
    this.devices.push(d);
  }

  /** Remove a function (`pci_stop_and_remove_bus_device`). */
  unregisterDevice(d: PciDev): void {
    const i = d.bus.devices.indexOf(d);
    if (i >= 0) d.bus.devices.splice(i, 1);
    const j = this.devices.indexOf(d);
    if (j >= 0) this.devices.splice(j, 1);
  }

  /** `pci_warn(pdev, ...)`: a kernel log line (not a WARN splat). */
  pciWarn(d: PciDev, msg: string): void {
    this.messages.push(`pci ${pciName(d)}: ${msg}`);
  }

  /** `pci_info(pdev, ...)`. */
  pciInfo(d: PciDev, msg: string): void {
    this.messages.push(`pci ${pciName(d)}: ${msg}`);
  }

  private subordinateOf(port: PciDev): PciBus {
    if (!port.subordinate) throw new Error(`${pciName(port)} is not a bridge: create endpoints below a root port or a switch downstream port`);
    return port.subordinate;
  }

  private noteBus(domain: number, nr: number): void {
    this.maxBus.set(domain, Math.max(this.maxBus.get(domain) ?? 0, nr));
  }

  private addSubordinate(bridge: PciDev): PciBus {
    const domain = bridge.bus.hostBridge.domain;
    const nr = (this.maxBus.get(domain) ?? 0) + 1;
    if (nr > 0xff) throw new Error(`domain ${domain} ran out of bus numbers`);
    this.noteBus(domain, nr);
    const b = new PciBus(nr, bridge.bus, bridge, bridge.bus.hostBridge);
    bridge.bus.children.push(b);
    bridge.subordinate = b;
    return b;
  }

  private pickDevfn(bus: PciBus, spec: FunctionSpec, rootBus: boolean): number {
    const fn = spec.fn ?? 0;
    let slot = spec.slot;
    if (slot === undefined) {
      slot = 0;
      // On a root bus every function gets its own slot; below a port, slot 0 unless taken.
      while (bus.devices.some((d) => d.slot === slot && (rootBus || d.fn === fn))) slot++;
    }
    const devfn = pciDevfn(slot, fn);
    if (bus.devices.some((d) => d.devfn === devfn && d.busNr === bus.number)) {
      throw new Error(`devfn ${slot}.${fn} already exists on bus ${bus.number.toString(16)}`);
    }
    return devfn;
  }

  private makeFunction(bus: PciBus, devfn: number, spec: FunctionSpec, pcieType: number | null): PciDev {
    const d = new PciDev(this, bus, bus.number, devfn, spec.vendor ?? PCI_VENDOR_ID_INTEL, spec.device ?? 0x0001, spec.dma);
    d.pcieType = pcieType;
    if (spec.acs !== undefined) pciSetAcs(d, spec.acs);
    d.nonMappableBars = spec.nonMappableBars ?? false;
    this.assignBars(d, spec.bars ?? [], 0);
    if (spec.sriov) {
      const s = spec.sriov;
      if (pcieType !== PCI_EXP_TYPE_ENDPOINT && pcieType !== PCI_EXP_TYPE_RC_END) throw new Error('only endpoints can be SR-IOV PFs');
      const barsz = (s.bars ?? []).map((b) => b?.size ?? 0);
      while (barsz.length < PCI_STD_NUM_BARS) barsz.push(0);
      d.sriov = {
        totalVFs: s.totalVFs,
        numVFs: 0,
        offset: s.offset ?? 1,
        stride: s.stride ?? 1,
        vfDevice: s.vfDevice ?? d.device + 1,
        barsz,
        virtfns: [],
      };
      // The IOV resource of each VF BAR holds totalVFs copies, aligned to one VF BAR.
      this.assignBars(d, (s.bars ?? []).map((b) => (b ? { ...b, total: b.size * s.totalVFs } : null)), PCI_IOV_RESOURCES);
    }
    this.registerDevice(d);
    return d;
  }

  private assignBars(d: PciDev, bars: readonly ((BarSpec & { total?: number }) | null)[], base: number): void {
    const hb = d.bus.hostBridge;
    for (let i = 0; i < Math.min(bars.length, PCI_STD_NUM_BARS); i++) {
      const b = bars[i];
      if (!b) continue;
      if (b.size <= 0 || (b.size & (b.size - 1)) !== 0) {
        throw new Error(`BAR ${i} of ${pciName(d)}: size ${b.size} is not a power of two (BAR sizes always are)`);
      }
      if (b.mem64 && (i === PCI_STD_NUM_BARS - 1 || bars[i + 1])) {
        throw new Error(`BAR ${i} of ${pciName(d)} is 64-bit: BAR ${i + 1} must stay empty`);
      }
      const len = b.total ?? b.size;
      const res: Resource = { start: 0, len, flags: 0, busStart: 0 };
      if (b.type === 'io') {
        res.flags = IORESOURCE_IO;
        res.start = b.start ?? alignUp(hb.ioNext, b.size);
        if (b.start === undefined) hb.ioNext = res.start + len;
        res.busStart = b.busStart ?? res.start;
      } else {
        res.flags = IORESOURCE_MEM | (b.prefetch ? IORESOURCE_PREFETCH : 0) | (b.mem64 ? IORESOURCE_MEM_64 : 0);
        if (b.start === undefined) {
          res.start = alignUp(hb.mmioNext, Math.max(b.size, PAGE_SIZE));
          if (res.start + len > hb.mmio.cpuStart + hb.mmio.size) {
            throw new Error(`host bridge ${hb.name}: MMIO window too small for BAR ${i} of ${pciName(d)}`);
          }
          hb.mmioNext = res.start + len;
        } else {
          res.start = b.start;
        }
        res.busStart = b.busStart ?? res.start + (hb.mmio.busStart - hb.mmio.cpuStart);
      }
      d.resource[base + i] = res;
      if (b.mem64) i++;
    }
  }
}

function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}
