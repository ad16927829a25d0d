import type { IommuDomain } from './iommu.ts';

/**
 * DMA parameters of a device: whether it sits behind an IOMMU domain, and the
 * segment limits the DMA API honours when it merges scatterlist entries.
 *
 * @kernel struct device_dma_parameters, dev->dma_range_map, iommu_get_domain_for_dev
 */
export interface DmaParams {
  /** IOMMU domain translating this device's DMA, or null for dma-direct (no IOMMU). */
  iommu: IommuDomain | null;
  /** `dma_get_max_seg_size` (the kernel's default is 64 KiB when a driver sets none). */
  maxSegmentSize: number;
  /** `dma_get_seg_boundary` mask: merged segments never cross a multiple of mask+1. */
  segBoundaryMask: number;
  /** dma-direct offset: DMA address = CPU physical address + dmaOffset (`dma_range_map`). */
  dmaOffset: number;
}

/**
 * Default DMA parameters: no IOMMU, 64 KiB segments, 4 GiB boundary, no offset.
 *
 * @kernel pci_setup_device (dma_set_max_seg_size 64 KiB, dma_set_seg_boundary 4 GiB)
 */
export function defaultDmaParams(): DmaParams {
  return { iommu: null, maxSegmentSize: 0x10000, segBoundaryMask: 0xffffffff, dmaOffset: 0 };
}

/**
 * `struct device`: a named node with a parent and DMA parameters. PCI
 * functions are `PciDev`, a subclass; any other device (a platform NPU, an
 * iommufd placeholder, a child device of a PCI function) is a plain `Device`.
 *
 * @kernel struct device
 */
export class Device {
  readonly dma: DmaParams;

  constructor(
    /** `dev_name`. */
    public name: string,
    /** `dev->parent`; the distance API walks up through it to the nearest PCI device. */
    public parent: Device | null = null,
    dma: Partial<DmaParams> = {},
  ) {
    this.dma = { ...defaultDmaParams(), ...dma };
  }

  toString(): string {
    return this.name;
  }
}
