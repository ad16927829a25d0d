import { pciBridgeHasAcsRedir } from './acs.ts';
import type { Device } from './device.ts';
import type { Page } from './memory.ts';
import type { P2pdmaProvider, P2pPagemap } from './structs.ts';
import {
  PCI_ANY_ID,
  PCI_EXP_TYPE_ROOT_PORT,
  devIsPci,
  pciDevId,
  pciDomainNr,
  pciFindHostBridge,
  pciName,
  pciUpstreamBridge,
} from './pci-dev.ts';
import type { PciDev, PciHostBridge } from './pci-dev.ts';

/** `PCI_P2PDMA_MAP_UNKNOWN`: internal, "not computed yet" (never returned). */
export const PCI_P2PDMA_MAP_UNKNOWN = 0;
/** `PCI_P2PDMA_MAP_NONE`: the page is not P2P memory. */
export const PCI_P2PDMA_MAP_NONE = 1;
/** `PCI_P2PDMA_MAP_NOT_SUPPORTED`: the client cannot reach the provider. */
export const PCI_P2PDMA_MAP_NOT_SUPPORTED = 2;
/** `PCI_P2PDMA_MAP_BUS_ADDR`: direct through a switch; program the PCI bus address, no IOMMU. */
export const PCI_P2PDMA_MAP_BUS_ADDR = 3;
/** `PCI_P2PDMA_MAP_THRU_HOST_BRIDGE`: through the root complex; use the normal DMA mapping (MMIO). */
export const PCI_P2PDMA_MAP_THRU_HOST_BRIDGE = 4;

/** `enum pci_p2pdma_map_type`. */
export type PciP2pdmaMapType = 0 | 1 | 2 | 3 | 4;

const MAP_NAMES = ['unknown', 'none', 'not-supported', 'bus-address', 'through-host-bridge'] as const;

/**
 * Readable name of a map type.
 *
 * @kernel none: report text for enum pci_p2pdma_map_type
 */
export function pciP2pdmaMapTypeName(t: PciP2pdmaMapType): string {
  return MAP_NAMES[t];
}

/** `REQ_SAME_HOST_BRIDGE`: the entry allows P2P only between devices below the same host bridge. */
export const REQ_SAME_HOST_BRIDGE = 1 << 0;

/** One `pci_p2pdma_whitelist` entry (`device` may be `PCI_ANY_ID`). */
export interface P2pdmaWhitelistEntry {
  readonly vendor: number;
  readonly device: number;
  readonly flags: number;
}

/**
 * The kernel's host-bridge allow-list (Intel Xeon E5/E7 v3 require the same
 * host bridge; Skylake-E and later do not).
 *
 * @kernel pci_p2pdma_whitelist (drivers/pci/p2pdma.c)
 */
export const DEFAULT_P2PDMA_WHITELIST: readonly P2pdmaWhitelistEntry[] = [
  { vendor: 0x8086, device: 0x3c00, flags: REQ_SAME_HOST_BRIDGE },
  { vendor: 0x8086, device: 0x3c01, flags: REQ_SAME_HOST_BRIDGE },
  { vendor: 0x8086, device: 0x2f00, flags: REQ_SAME_HOST_BRIDGE },
  { vendor: 0x8086, device: 0x2f01, flags: REQ_SAME_HOST_BRIDGE },
  { vendor: 0x8086, device: 0x2030, flags: 0 },
  { vendor: 0x8086, device: 0x2031, flags: 0 },
  { vendor: 0x8086, device: 0x2032, flags: 0 },
  { vendor: 0x8086, device: 0x2033, flags: 0 },
  { vendor: 0x8086, device: 0x2020, flags: 0 },
  { vendor: 0x8086, device: 0x09a2, flags: 0 },
];

/** `cpu_supports_p2pdma`: any AMD CPU of family 0x17 (Zen) or newer. @kernel cpu_supports_p2pdma */
export function cpuSupportsP2pdma(pdev: PciDev): boolean {
  const cpu = pdev.system.cpu;
  return cpu.vendor === 'amd' && cpu.family >= 0x17;
}

/**
 * `pci_host_bridge_dev`: the function the allow-list is keyed on — the first
 * device on the root bus if it is 00.0 or a root port, else none.
 *
 * @kernel pci_host_bridge_dev
 */
export function pciHostBridgeDev(host: PciHostBridge): PciDev | null {
  const root = host.bus.devices[0];
  if (!root) return null;
  if (root.devfn === 0) return root;
  if (root.pcieType === PCI_EXP_TYPE_ROOT_PORT) return root;
  return null;
}

function hostBridgeWhitelisted(host: PciHostBridge, sameHostBridge: boolean, warn: boolean): boolean {
  const root = pciHostBridgeDev(host);
  if (!root) return false;
  for (const e of host.system.whitelist) {
    if (root.vendor !== e.vendor) continue;
    if (e.device !== PCI_ANY_ID && root.device !== e.device) continue;
    return !((e.flags & REQ_SAME_HOST_BRIDGE) && !sameHostBridge);
  }
  if (warn) {
    host.system.pciWarn(root, `Host bridge not in P2PDMA whitelist: ${hex4(root.vendor)}:${hex4(root.device)}`);
  }
  return false;
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

/**
 * `host_bridge_whitelist(a, b)`: P2P through the root complex is allowed if
 * both sit below one allow-listed host bridge, or below two host bridges
 * that are both listed without `REQ_SAME_HOST_BRIDGE`.
 *
 * @kernel host_bridge_whitelist
 */
export function hostBridgeWhitelist(a: PciDev, b: PciDev, warn: boolean): boolean {
  const ha = pciFindHostBridge(a);
  const hb = pciFindHostBridge(b);
  if (ha === hb) return hostBridgeWhitelisted(ha, true, warn);
  return hostBridgeWhitelisted(ha, false, warn) && hostBridgeWhitelisted(hb, false, warn);
}

/** `map_types_idx(client)`: the cache key, `(domain << 16) | pci_dev_id`. @kernel map_types_idx */
export function mapTypesIdx(client: PciDev): number {
  return pciDomainNr(client) * 0x10000 + pciDevId(client);
}

/** Result of `calc_map_type_and_dist`. */
export interface MapTypeAndDist {
  readonly mapType: PciP2pdmaMapType;
  readonly distance: number;
  /** Functions on the path whose ACS redirects P2P upstream (the `disable_acs_redir` list). */
  readonly acsRedirect: readonly PciDev[];
}

/**
 * `calc_map_type_and_dist(provider, client)`: walk up from the provider; for
 * each function `a` on that walk (the provider itself first), note ACS
 * redirect on `a`, then walk up from the client looking for `a`. The first
 * match is the lowest common upstream bridge; distance = hops from the
 * provider + hops from the client. Then check ACS on the client's path
 * below the common bridge. No ACS redirect anywhere: BUS_ADDR. Otherwise, or
 * with no common bridge at all, the traffic goes through the host bridge:
 * THRU_HOST_BRIDGE if the CPU allows P2P or the host bridge(s) are
 * allow-listed, else NOT_SUPPORTED. (With no common bridge, the distance is
 * the full depth of both paths, as the kernel computes it.) The result is
 * cached on the provider.
 *
 * Same function: distance 0. Two functions of one device: 2. Two devices
 * below one switch: 4.
 *
 * @kernel calc_map_type_and_dist (drivers/pci/p2pdma.c)
 */
export function calcMapTypeAndDist(provider: PciDev, client: PciDev, verbose: boolean): MapTypeAndDist {
  const acs: PciDev[] = [];
  let distA = 0;
  let distB = 0;
  let common: PciDev | null = null;
  for (let a: PciDev | null = provider; a; a = pciUpstreamBridge(a), distA++) {
    distB = 0;
    if (pciBridgeHasAcsRedir(a)) acs.push(a);
    let bb: PciDev | null = client;
    for (; bb; bb = pciUpstreamBridge(bb), distB++) {
      if (bb === a) break;
    }
    if (bb) {
      common = a;
      break;
    }
  }
  const distance = distA + distB;
  let mapType: PciP2pdmaMapType = PCI_P2PDMA_MAP_THRU_HOST_BRIDGE;
  let acsRedirects = false;
  let done = false;
  if (common) {
    for (let bb: PciDev | null = client; bb && bb !== common; bb = pciUpstreamBridge(bb)) {
      if (pciBridgeHasAcsRedir(bb)) acs.push(bb);
    }
    if (acs.length === 0) {
      mapType = PCI_P2PDMA_MAP_BUS_ADDR;
      done = true;
    } else {
      if (verbose) {
        const sys = client.system;
        sys.pciWarn(client, `ACS redirect is set between the client and provider (${pciName(provider)})`);
        sys.pciWarn(
          client,
          `to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=${acs.map(pciName).join(';')}`,
        );
      }
      acsRedirects = true;
    }
  }
  if (!done && !cpuSupportsP2pdma(provider) && !hostBridgeWhitelist(provider, client, acsRedirects)) {
    if (verbose) {
      client.system.pciWarn(
        client,
        `cannot be used for peer-to-peer DMA as the client and provider (${pciName(provider)}) do not share an upstream bridge or whitelisted host bridge`,
      );
    }
    mapType = PCI_P2PDMA_MAP_NOT_SUPPORTED;
  }
  provider.p2pdma?.mapTypes.set(mapTypesIdx(client), mapType);
  return { mapType, distance, acsRedirect: acs };
}

/**
 * `pci_p2pdma_map_type(provider, dev)`: how `dev` must address the
 * provider's memory. The client must itself be a PCI function (no walk to a
 * PCI parent here, unlike the distance API); a provider whose P2P state is
 * gone is NOT_SUPPORTED. Uses the cached result when there is one.
 *
 * @kernel pci_p2pdma_map_type (drivers/pci/p2pdma.c, exported in v6.19)
 */
export function pciP2pdmaMapType(provider: P2pdmaProvider, dev: Device): PciP2pdmaMapType {
  const pdev = provider.owner;
  if (!pdev.p2pdma) return PCI_P2PDMA_MAP_NOT_SUPPORTED;
  if (!devIsPci(dev)) return PCI_P2PDMA_MAP_NOT_SUPPORTED;
  const cached = pdev.p2pdma.mapTypes.get(mapTypesIdx(dev)) ?? PCI_P2PDMA_MAP_UNKNOWN;
  if (cached === PCI_P2PDMA_MAP_UNKNOWN) return calcMapTypeAndDist(pdev, dev, true).mapType;
  return cached;
}

/** `find_parent_pci_dev`: `dev` itself if it is PCI, else its nearest PCI ancestor. @kernel find_parent_pci_dev */
export function findParentPciDev(dev: Device): PciDev | null {
  for (let d: Device | null = dev; d; d = d.parent) if (devIsPci(d)) return d;
  return null;
}

/**
 * `pci_p2pdma_distance_many(provider, clients, verbose)`: sum of distances
 * from the provider to every client (each client walked up to its nearest
 * PCI parent), or -1 if there are no clients, a client has no PCI parent, or
 * any client is NOT_SUPPORTED. Always recomputes (and refreshes the cache).
 *
 * @kernel pci_p2pdma_distance_many
 */
export function pciP2pdmaDistanceMany(provider: PciDev, clients: readonly Device[], verbose = false): number {
  if (clients.length === 0) return -1;
  let total = 0;
  let notSupported = false;
  for (const c of clients) {
    const pc = findParentPciDev(c);
    if (!pc) {
      if (verbose) provider.system.messages.push(`${c.name}: cannot be used for peer-to-peer DMA as it is not a PCI device`);
      return -1;
    }
    const r = calcMapTypeAndDist(provider, pc, verbose);
    if (r.mapType === PCI_P2PDMA_MAP_NOT_SUPPORTED) notSupported = true;
    if (notSupported && !verbose) break;
    total += r.distance;
  }
  return notSupported ? -1 : total;
}

/** `pci_p2pdma_distance(provider, client, verbose)`: one client. @kernel pci_p2pdma_distance */
export function pciP2pdmaDistance(provider: PciDev, client: Device, verbose = false): number {
  return pciP2pdmaDistanceMany(provider, [client], verbose);
}

/** `pci_p2pdma_bus_addr_map(provider, paddr)`: the PCI bus address a peer uses for CPU physical `paddr`. @kernel pci_p2pdma_bus_addr_map */
export function pciP2pdmaBusAddrMap(provider: P2pdmaProvider, paddr: number): number {
  return paddr + provider.busOffset;
}

/**
 * `struct pci_p2pdma_map_state`: the DMA mapping loops classify each page,
 * recomputing only when the pagemap changes.
 *
 * @kernel struct pci_p2pdma_map_state, pci_p2pdma_state
 */
export interface PciP2pdmaMapState {
  pgmap: P2pPagemap | null;
  map: PciP2pdmaMapType;
  busOff: number;
}

/**
 * A fresh map state.
 *
 * @kernel struct pci_p2pdma_map_state (zero-initialised by its callers)
 */
export function newP2pdmaMapState(): PciP2pdmaMapState {
  return { pgmap: null, map: PCI_P2PDMA_MAP_NONE, busOff: 0 };
}

/** `pci_p2pdma_state(state, dev, page)`: NONE for RAM pages, else the (cached) classification. @kernel pci_p2pdma_state */
export function pciP2pdmaState(state: PciP2pdmaMapState, dev: Device, page: Page | null): PciP2pdmaMapType {
  const pgmap = page?.pgmap ?? null;
  if (!pgmap) return PCI_P2PDMA_MAP_NONE;
  if (state.pgmap !== pgmap) {
    state.pgmap = pgmap;
    state.map = pciP2pdmaMapType(pgmap.provider, dev);
    state.busOff = pgmap.provider.busOffset;
  }
  return state.map;
}
