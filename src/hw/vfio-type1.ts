import { Errno } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import { IommuDomain, pciResourceLen, pciResourceStart } from '../pci/index.ts';
import type { VfioPciDevice } from './vfio-pci.ts';

/** One type1 mapping of MMIO PFNs taken from a user VMA. */
interface Type1MmioMapping {
  readonly iova: number;
  readonly phys: number;
  readonly len: number;
  /** The device whose BAR the PFNs belong to (type1 does not know; the model does). */
  readonly owner: VfioPciDevice;
  readonly bar: number;
}

/**
 * The VFIO type1 IOMMU backend's P2P path: `VFIO_IOMMU_MAP_DMA` of a user
 * address range that is a PFNMAP VMA of some device's BAR. type1 fishes the
 * MMIO PFNs out of the page tables (`follow_pfnmap_*`) and programs them into
 * the container's IOMMU domain — with no lifetime tie to the device that
 * owns them. When that device is unbound its VMAs are zapped and its removal
 * completes, but this domain still maps the stale PFNs: a DMA through them
 * is a use after free of MMIO (`vfio.mmio_use_after_free`). The dma-buf
 * path exists to close this hole (Jason Gunthorpe to Shuai Xue, Oct 2025).
 *
 * @kernel vfio_iommu_type1_map_dma, vaddr_get_pfns, follow_fault_pfn (drivers/vfio/vfio_iommu_type1.c)
 */
export class VfioType1Container {
  readonly domain = new IommuDomain('dma');
  private readonly maps: Type1MmioMapping[] = [];

  constructor(readonly kernel: Kernel) {}

  /**
   * Map `len` bytes at `offset` of `owner`'s BAR (as mmapped by userspace)
   * at `iova`. `-EFAULT` if the VMA has no PTEs (device closed, memory
   * disabled: the fault handler refuses), `-EINVAL` outside the BAR.
   */
  mapDmaFromPfnmap(owner: VfioPciDevice, bar: number, offset: number, len: number, iova: number): number {
    if (!owner.open || !owner.memoryAccessible()) return -Errno.EFAULT;
    if (offset < 0 || len <= 0 || offset + len > pciResourceLen(owner.pdev, bar)) return -Errno.EINVAL;
    const phys = pciResourceStart(owner.pdev, bar) + offset;
    const r = this.domain.map(iova, phys, len, true);
    if (r) return r;
    this.maps.push({ iova, phys, len, owner, bar });
    return 0;
  }

  /** `VFIO_IOMMU_UNMAP_DMA`. */
  unmapDma(iova: number): number {
    const i = this.maps.findIndex((m) => m.iova === iova);
    if (i < 0) return -Errno.EINVAL;
    const m = this.maps[i]!;
    this.domain.unmap(m.iova, m.len);
    this.maps.splice(i, 1);
    return 0;
  }

  /**
   * A device in this container DMAs to `iova`: the physical address reached
   * (null: an IOMMU fault). If the MMIO's owner is no longer bound (its P2P
   * providers destroyed), the access reaches memory nobody owns any more.
   */
  dma(iova: number): number | null {
    const phys = this.domain.translate(iova);
    if (phys === null) return null;
    const m = this.maps.find((x) => iova >= x.iova && iova < x.iova + x.len);
    if (m && (!m.owner.registered || m.owner.pdev.p2pdma === null)) {
      this.kernel.splat({
        rule: 'vfio.mmio_use_after_free',
        severity: 'bug',
        headline: `BUG: DMA to MMIO of ${m.owner.name} BAR ${m.bar} after its driver was unbound`,
        body:
          `The type1 container maps IOVA 0x${m.iova.toString(16)} to physical 0x${m.phys.toString(16)} (${m.len} bytes of ${m.owner.name} BAR ${m.bar}), ` +
          'PFNs taken from a user VMA with follow_pfnmap. The owning device has been unbound and its P2P provider destroyed; nothing told this container. ' +
          'The MMIO may now belong to another device or be in reset (machine checks on some platforms). Import MMIO through a dma-buf (revocable) instead.',
        data: { owner: m.owner.name, bar: m.bar, iova: m.iova, phys: m.phys },
      });
    }
    return phys;
  }
}
