/**
 * The structs `struct pci_dev` points to (a BAR's peer-to-peer provider and
 * its pagemap, the SR-IOV capability): declared below the device model so
 * that pages, devices and the P2P code can all name them.
 */
import type { PciDev } from './forward.ts';

/**
 * `struct p2pdma_provider`: a range of MMIO (one memory BAR) that peers may
 * reach. `busOffset` = PCI bus address of the BAR minus its CPU physical
 * start; a peer that talks to the BAR directly through a switch uses
 * CPU physical + `busOffset`.
 *
 * @kernel struct p2pdma_provider (include/linux/pci-p2pdma.h)
 */
export interface P2pdmaProvider {
  readonly owner: PciDev;
  readonly bar: number;
  readonly busOffset: number;
  /** DMA attributes for host-bridge mappings of this provider. */
  readonly dmaMappingFlags: number;
}

/**
 * `struct pci_p2pdma_pagemap`: the ZONE_DEVICE pages `pci_p2pdma_add_resource`
 * creates for part of a BAR (the pgmap model of P2P memory), tied to the
 * BAR's provider. `live` goes false when the driver unbinds.
 *
 * @kernel struct pci_p2pdma_pagemap, MEMORY_DEVICE_PCI_P2PDMA
 */
export interface P2pPagemap {
  readonly provider: P2pdmaProvider;
  /** CPU physical start and length of the range (`pgmap->range`). */
  readonly start: number;
  readonly len: number;
  live: boolean;
}

/**
 * The SR-IOV capability of a PF (`struct pci_sriov`): routing-id offset and
 * stride of the VFs, their device id, the per-VF size of each VF BAR, and the
 * VFs currently enabled.
 *
 * @kernel struct pci_sriov (drivers/pci/pci.h)
 */
export interface SriovCap {
  readonly totalVFs: number;
  numVFs: number;
  readonly offset: number;
  readonly stride: number;
  readonly vfDevice: number;
  /** `barsz[i]`: size of VF BAR i of one VF (0 when unused). */
  readonly barsz: number[];
  readonly virtfns: PciDev[];
}
