import { Errno } from '../kernel/index.ts';
import { pciP2pdmaDistance } from '../pci/index.ts';
import type { DmaDataDirection, Device, PciDev } from '../pci/index.ts';
import type { Awaitable } from '../kernel/index.ts';
import type { DmaBufAttachment } from './forward.ts';
import { DmaBufMappingType } from './mapping-type.ts';
import type { DmaBufExpMatch, DmaBufImpMatch } from './mapping-type.ts';
import type { SgTable } from './sg-table.ts';

/** Exporter match data of the scatter-table type. */
export interface SgtExpData {
  /** The exporter can only hand out peer-to-peer (MMIO) addresses. */
  readonly requireP2p: boolean;
  /** The PCI function whose memory is exported (needed when `requireP2p`). */
  readonly exportingDevice: PciDev | null;
}

/** Importer match data of the scatter-table type. */
export interface SgtImpData {
  /** The device that will DMA through the table. */
  readonly dev: Device;
  /** The importer can handle peer-to-peer (no struct page) tables. */
  readonly acceptP2p: boolean;
}

/**
 * The scatter-table type's exporter ops: `map_dma_buf` / `unmap_dma_buf`.
 * Called with the resv lock held; map returns a fresh table (ownership passes
 * to the caller) or a negative errno, and may sleep.
 */
export interface SgtExpOps {
  mapDmaBuf(attach: DmaBufAttachment, dir: DmaDataDirection): Awaitable<SgTable | number | null>;
  unmapDmaBuf(attach: DmaBufAttachment, sgt: SgTable, dir: DmaDataDirection): Awaitable<void>;
}

/**
 * "DMA Mapped Scatter Gather Table": the legacy mapping, a table of DMA
 * addresses for the importing device. An exporter entry not requiring
 * peer-to-peer matches any importer entry; one requiring it matches only an
 * importer that accepts peer-to-peer and that the PCI model can reach
 * (`pci_p2pdma_distance >= 0`), else it declines so the search goes on.
 * After a match the legacy `attach.dev` and `attach.peer2peer` are filled.
 *
 * @kernel dma_buf_mapping_sgt_type, DMA_BUF_EMAPPING_SGT[_P2P], DMA_BUF_IMAPPING_SGT (mapping-types RFC)
 */
export const DMA_BUF_MAPPING_SGT = new DmaBufMappingType<SgtExpData, SgtImpData, SgtExpOps>(
  'DMA Mapped Scatter Gather Table',
  {
    match(_dmabuf, exp, imp) {
      if (!exp.requireP2p) return 0;
      if (!imp.acceptP2p || !exp.exportingDevice) return -Errno.EOPNOTSUPP;
      return pciP2pdmaDistance(exp.exportingDevice, imp.dev) >= 0 ? 0 : -Errno.EOPNOTSUPP;
    },
    finishMatch(attach, _exp, imp) {
      attach.dev = imp.dev;
      attach.peer2peer = imp.acceptP2p;
    },
  },
);

/** `DMA_BUF_EMAPPING_SGT(ops)`: an exporter entry for ordinary (struct page backed) memory. @kernel DMA_BUF_EMAPPING_SGT */
export function dmaBufEmappingSgt(ops: SgtExpOps): DmaBufExpMatch<SgtExpData, SgtExpOps> {
  return DMA_BUF_MAPPING_SGT.exporter(ops, { requireP2p: false, exportingDevice: null });
}

/** `DMA_BUF_EMAPPING_SGT_P2P(ops, pdev)`: an exporter entry for MMIO of `pdev`, peer-to-peer only. @kernel DMA_BUF_EMAPPING_SGT_P2P */
export function dmaBufEmappingSgtP2p(
  ops: SgtExpOps,
  pdev: PciDev,
): DmaBufExpMatch<SgtExpData, SgtExpOps> {
  return DMA_BUF_MAPPING_SGT.exporter(ops, { requireP2p: true, exportingDevice: pdev });
}

/** `DMA_BUF_IMAPPING_SGT(dev, p2p)`: an importer entry. @kernel DMA_BUF_IMAPPING_SGT */
export function dmaBufImappingSgt(dev: Device, acceptP2p: boolean): DmaBufImpMatch<SgtImpData> {
  return DMA_BUF_MAPPING_SGT.importer({ dev, acceptP2p });
}

/** `dma_buf_get_sgt_ops`: the exporter's scatter-table ops if the attachment negotiated that type, else null. @kernel dma_buf_get_sgt_ops */
export function dmaBufGetSgtOps(attach: DmaBufAttachment): SgtExpOps | null {
  const m = attach.mapType;
  return m && m.type === DMA_BUF_MAPPING_SGT ? (m.exp.ops as SgtExpOps) : null;
}

/** `dma_buf_sgt_dma_device`: the importing DMA device of a scatter-table attachment, or null. @kernel dma_buf_sgt_dma_device */
export function dmaBufSgtDmaDevice(attach: DmaBufAttachment): Device | null {
  const m = attach.mapType;
  return m && m.type === DMA_BUF_MAPPING_SGT ? (m.imp.data as SgtImpData).dev : null;
}

/** `dma_buf_sgt_p2p_allowed`: the scatter-table importer accepts peer-to-peer. @kernel dma_buf_sgt_p2p_allowed */
export function dmaBufSgtP2pAllowed(attach: DmaBufAttachment): boolean {
  const m = attach.mapType;
  return m !== null && m.type === DMA_BUF_MAPPING_SGT && (m.imp.data as SgtImpData).acceptP2p;
}
