import type { DmaBufAttachment } from './forward.ts';
import type { AnyMappingType } from './mapping-type.ts';

/** Life of one mapping made through an attachment. */
export type DmaBufMappingState = 'mapped' | 'invalidated' | 'revoked' | 'unmapped';

/**
 * One mapping handed to an importer (an sg table, a physical list, IOV
 * ranges), tracked so that use after revocation and mappings never unmapped
 * after an invalidation can be reported. `result` is what the importer got.
 *
 * Model object: the kernel has no such record (VFIO's 2026 revoke counts
 * outstanding maps with a kref, which this generalises).
 *
 * @kernel none: model bookkeeping of one map_dma_buf result, so that use after revoke and unmaps never done can be reported
 */
export class DmaBufMapping<T = unknown> {
  state: DmaBufMappingState = 'mapped';
  /** Virtual time of the invalidation, if any. */
  invalidatedAtNs = -1;

  constructor(
    readonly attach: DmaBufAttachment,
    readonly type: AnyMappingType,
    readonly result: T,
    /** `enum dma_data_direction` for sg tables, else 0. */
    readonly dir: number,
    /** The core pinned the buffer for this mapping (static importer of a dynamic exporter). */
    readonly pinnedOnMap: boolean,
  ) {}

  /** Still to be unmapped. */
  get live(): boolean {
    return this.state !== 'unmapped';
  }
}
