import { Errno } from '../kernel/index.ts';
import { PAGE_SIZE } from './memory.ts';
import type { Page } from './memory.ts';
import { pciP2pdmaDistanceMany } from './p2pdma-map.ts';
import type { PciP2pdmaMapType } from './p2pdma-map.ts';
import {
  IORESOURCE_MEM,
  PCI_STD_NUM_BARS,
  pciBusAddress,
  pciName,
  pciResourceFlags,
  pciResourceLen,
  pciResourceStart,
} from './pci-dev.ts';
import type { PciDev } from './pci-dev.ts';
import type { Device } from './device.ts';
import type { P2pdmaProvider, P2pPagemap } from './structs.ts';

declare module './forward.ts' {
  /** The forward-declared `PciP2pdma` of the files below this one is this class. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging: adds PciP2pdma's members
  interface PciP2pdma extends PciP2pdmaClass {}
}
/** The class, under a name the merged declaration above can extend. */
type PciP2pdmaClass = PciP2pdma;

/** `DMA_ATTR_MMIO`: the mapping targets MMIO, not RAM (no cache maintenance, no swiotlb). */
export const DMA_ATTR_MMIO = 1 << 10;

/** One range of the P2P memory pool (`gen_pool` chunk): free space is a sorted list of extents. */
interface PoolChunk {
  readonly pgmap: P2pPagemap;
  readonly busStart: number;
  readonly free: { start: number; len: number }[];
}

/** An allocation from a provider's P2P memory pool (`pci_alloc_p2pmem`). */
export interface P2pMem {
  readonly pdev: PciDev;
  /** CPU physical address (the model's "virtual" address for p2pmem is the physical one). */
  readonly phys: number;
  readonly size: number;
  readonly pgmap: P2pPagemap;
}

/**
 * `struct pci_p2pdma`: per-function P2P state. `mem[bar]` holds the provider
 * of each memory BAR; `mapTypes` caches the classification per client
 * (`(domain << 16) | pci_dev_id`), as the kernel's xarray does.
 *
 * @kernel struct pci_p2pdma (drivers/pci/p2pdma.c)
 */
export class PciP2pdma {
  pool: PoolChunk[] | null = null;
  published = false;
  readonly mapTypes = new Map<number, PciP2pdmaMapType>();
  readonly mem: (P2pdmaProvider | null)[] = Array.from({ length: PCI_STD_NUM_BARS }, () => null);
  readonly pgmaps: P2pPagemap[] = [];
}

function warnOn(pdev: PciDev, what: string): void {
  const k = pdev.system.kernel;
  if (k) {
    k.splat({ rule: 'pci.p2pdma_warn', severity: 'warn', headline: `WARNING: ${what}`, body: `device ${pciName(pdev)}` });
  } else {
    pdev.system.messages.push(`WARNING: ${what} (${pciName(pdev)})`);
  }
}

/**
 * `pcim_p2pdma_init`: set up P2P state and one provider per memory BAR
 * (I/O BARs get none). `-EOPNOTSUPP` for a function whose BARs must not be
 * mapped; 0 if already done. The providers live until `pciP2pdmaRelease`
 * (driver unbind, via devres in the kernel).
 *
 * @kernel pcim_p2pdma_init (drivers/pci/p2pdma.c, v6.19)
 */
export function pcimP2pdmaInit(pdev: PciDev): number {
  if (pdev.nonMappableBars) return -Errno.EOPNOTSUPP;
  if (pdev.p2pdma) return 0;
  const p2p = new PciP2pdma();
  for (let i = 0; i < PCI_STD_NUM_BARS; i++) {
    if (!(pciResourceFlags(pdev, i) & IORESOURCE_MEM)) continue;
    p2p.mem[i] = {
      owner: pdev,
      bar: i,
      busOffset: pciBusAddress(pdev, i) - pciResourceStart(pdev, i),
      dmaMappingFlags: DMA_ATTR_MMIO,
    };
  }
  pdev.p2pdma = p2p;
  return 0;
}

/**
 * `pcim_p2pdma_provider(pdev, bar)`: the provider of a memory BAR, or null
 * (not memory, non-mappable BARs, or — with a WARN — `pcimP2pdmaInit` was
 * never called).
 *
 * @kernel pcim_p2pdma_provider
 */
export function pcimP2pdmaProvider(pdev: PciDev, bar: number): P2pdmaProvider | null {
  if (!(pciResourceFlags(pdev, bar) & IORESOURCE_MEM) || pdev.nonMappableBars) return null;
  if (!pdev.p2pdma) {
    warnOn(pdev, 'pcim_p2pdma_provider() called before pcim_p2pdma_init()');
    return null;
  }
  return pdev.p2pdma.mem[bar] ?? null;
}

/**
 * `pci_p2pdma_add_resource(pdev, bar, size, offset)`: publish part of a
 * memory BAR as P2P memory with ZONE_DEVICE pages (size 0: the rest of the
 * BAR). `-EINVAL` for a non-memory BAR or a range outside it. Creates the
 * pool on first use and adds the range to it at its bus address.
 *
 * @kernel pci_p2pdma_add_resource
 */
export function pciP2pdmaAddResource(pdev: PciDev, bar: number, size = 0, offset = 0): number {
  if (!(pciResourceFlags(pdev, bar) & IORESOURCE_MEM)) return -Errno.EINVAL;
  const barLen = pciResourceLen(pdev, bar);
  if (offset >= barLen) return -Errno.EINVAL;
  if (!size) size = barLen - offset;
  if (size + offset > barLen) return -Errno.EINVAL;
  const err = pcimP2pdmaInit(pdev);
  if (err) return err;
  const p2p = pdev.p2pdma!;
  p2p.pool ??= [];
  const mem = pcimP2pdmaProvider(pdev, bar);
  if (!mem) return -Errno.EINVAL;
  const pgmap: P2pPagemap = { provider: mem, start: pciResourceStart(pdev, bar) + offset, len: size, live: true };
  p2p.pgmaps.push(pgmap);
  p2p.pool.push({ pgmap, busStart: pciBusAddress(pdev, bar) + offset, free: [{ start: pgmap.start, len: size }] });
  pdev.system.pciInfo(pdev, `added peer-to-peer DMA memory 0x${pgmap.start.toString(16)}-0x${(pgmap.start + size - 1).toString(16)}`);
  return 0;
}

/**
 * `pci_p2pdma_release`: what devres runs when the providing driver unbinds:
 * the P2P state, its providers, pagemaps and cached classifications go away.
 *
 * @kernel pci_p2pdma_release
 */
export function pciP2pdmaRelease(pdev: PciDev): void {
  const p2p = pdev.p2pdma;
  if (!p2p) return;
  pdev.p2pdma = null;
  for (const pg of p2p.pgmaps) pg.live = false;
  p2p.mapTypes.clear();
}

/** `pci_has_p2pmem`: the function has a pool and published it. @kernel pci_has_p2pmem */
export function pciHasP2pmem(pdev: PciDev): boolean {
  return !!pdev.p2pdma?.pool && pdev.p2pdma.published;
}

/** `pci_p2pmem_publish`. @kernel pci_p2pmem_publish */
export function pciP2pmemPublish(pdev: PciDev, publish: boolean): void {
  if (pdev.p2pdma) pdev.p2pdma.published = publish;
}

/**
 * `pci_alloc_p2pmem(pdev, size)`: first-fit allocation of page-rounded
 * `size` from the pool, or null. Deterministic (the kernel's gen_pool is a
 * first-fit bitmap too).
 *
 * @kernel pci_alloc_p2pmem
 */
export function pciAllocP2pmem(pdev: PciDev, size: number): P2pMem | null {
  const pool = pdev.p2pdma?.pool;
  if (!pool || size <= 0) return null;
  const want = Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
  for (const chunk of pool) {
    if (!chunk.pgmap.live) continue;
    const i = chunk.free.findIndex((f) => f.len >= want);
    if (i < 0) continue;
    const f = chunk.free[i]!;
    const phys = f.start;
    f.start += want;
    f.len -= want;
    if (f.len === 0) chunk.free.splice(i, 1);
    return { pdev, phys, size: want, pgmap: chunk.pgmap };
  }
  return null;
}

/** `pci_free_p2pmem`: give an allocation back (extents are merged). @kernel pci_free_p2pmem */
export function pciFreeP2pmem(mem: P2pMem): void {
  const chunk = mem.pdev.p2pdma?.pool?.find((c) => c.pgmap === mem.pgmap);
  if (!chunk) return;
  chunk.free.push({ start: mem.phys, len: mem.size });
  chunk.free.sort((a, b) => a.start - b.start);
  for (let i = chunk.free.length - 1; i > 0; i--) {
    const a = chunk.free[i - 1]!;
    const b = chunk.free[i]!;
    if (a.start + a.len === b.start) {
      a.len += b.len;
      chunk.free.splice(i, 1);
    }
  }
}

/** `pci_p2pmem_virt_to_bus`: the bus address of p2pmem at `phys` (0 if none). @kernel pci_p2pmem_virt_to_bus */
export function pciP2pmemVirtToBus(pdev: PciDev, phys: number): number {
  for (const c of pdev.p2pdma?.pool ?? []) {
    if (phys >= c.pgmap.start && phys < c.pgmap.start + c.pgmap.len) return c.busStart + (phys - c.pgmap.start);
  }
  return 0;
}

/**
 * The ZONE_DEVICE pages of a p2pmem allocation (`virt_to_page` over it).
 *
 * @kernel virt_to_page over a pci_alloc_p2pmem allocation
 */
export function p2pmemPages(mem: P2pMem): Page[] {
  const n = mem.size / PAGE_SIZE;
  const first = Math.floor(mem.phys / PAGE_SIZE);
  return Array.from({ length: n }, (_, i) => ({ pfn: first + i, pgmap: mem.pgmap }));
}

/**
 * `pci_p2pmem_find_many(clients)`: the published provider closest to all
 * clients. Ties are broken by the kernel with a random pick; the model asks
 * the kernel's chooser (`data` decision) when the system has a kernel and a
 * thread is running, else takes the first.
 *
 * @kernel pci_p2pmem_find_many
 */
export function pciP2pmemFindMany(devices: readonly PciDev[], clients: readonly Device[]): PciDev | null {
  let closest = Number.POSITIVE_INFINITY;
  let best: PciDev[] = [];
  for (const pdev of devices) {
    if (!pciHasP2pmem(pdev)) continue;
    const d = pciP2pdmaDistanceMany(pdev, clients, false);
    if (d < 0 || d > closest) continue;
    if (d < closest) {
      best = [];
      closest = d;
    }
    best.push(pdev);
  }
  if (best.length === 0) return null;
  const k = best[0]!.system.kernel;
  if (k?.currentOrNull && best.length > 1) {
    return k.choose('data', best.map((d) => ({ label: `p2pmem:${pciName(d)}`, d }))).d;
  }
  return best[0]!;
}
