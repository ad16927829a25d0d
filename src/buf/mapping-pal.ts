import type { Awaitable } from '../kernel/index.ts';
import type { DmaBufAttachment } from './forward.ts';
import { DmaBufMappingType } from './mapping-type.ts';
import type { DmaBufExpMatch, DmaBufImpMatch } from './mapping-type.ts';
import type { PhysVecList } from './phys-vec.ts';

/**
 * The physical-address-list type's result: the provider the ranges belong
 * to and the ranges (all MMIO).
 *
 * @kernel struct dma_buf_phys_list (mapping-types RFC)
 */
export type DmaBufPhysList = PhysVecList;

/** The physical-address-list exporter ops; called with the resv lock held. */
export interface PalExpOps {
  mapPhys(attach: DmaBufAttachment): Awaitable<DmaBufPhysList | number>;
  unmapPhys?(attach: DmaBufAttachment, list: DmaBufPhysList): Awaitable<void>;
}

/**
 * "Physical Address List": raw CPU physical ranges plus their p2p provider,
 * for importers that program an IOMMU themselves (iommufd). Entries carry
 * no match data; any exporter entry matches any importer entry. (Contested
 * upstream: Christian König called it a no-go in April 2026.)
 *
 * @kernel dma_buf_mapping_pal_type, DMA_BUF_EMAPPING_PAL, DMA_BUF_IMAPPING_PAL (mapping-types RFC)
 */
export const DMA_BUF_MAPPING_PAL = new DmaBufMappingType<null, null, PalExpOps>(
  'Physical Address List',
);

/** `DMA_BUF_EMAPPING_PAL(ops)`. @kernel DMA_BUF_EMAPPING_PAL */
export function dmaBufEmappingPal(ops: PalExpOps): DmaBufExpMatch<null, PalExpOps> {
  return DMA_BUF_MAPPING_PAL.exporter(ops, null);
}

/** `DMA_BUF_IMAPPING_PAL()`. @kernel DMA_BUF_IMAPPING_PAL */
export function dmaBufImappingPal(): DmaBufImpMatch<null> {
  return DMA_BUF_MAPPING_PAL.importer(null);
}
