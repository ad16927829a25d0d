import { Errno } from '../kernel/index.ts';
import type { DmaBuf, DmaBufAttachment } from './forward.ts';

/**
 * What a mapping type's match function answers: 0 accept, `-EOPNOTSUPP`
 * decline (keep searching), any other negative errno abort the negotiation.
 */
export type MatchResult = number;

/** An exporter's entry for one mapping type: the type, its typed exporter ops and its match data. */
export interface DmaBufExpMatch<ExpData = unknown, ExpOps = unknown> {
  readonly type: DmaBufMappingType<ExpData, never, ExpOps>;
  readonly ops: ExpOps;
  readonly data: ExpData;
}

/** An importer's entry for one mapping type: the type and its match data. */
export interface DmaBufImpMatch<ImpData = unknown> {
  readonly type: DmaBufMappingType<never, ImpData, never>;
  readonly data: ImpData;
}

/** Type-specific behaviour of a mapping type. */
export interface DmaBufMappingTypeImpl<ExpData, ImpData> {
  /** Compatibility check for two entries of this type; absent means "always compatible". */
  match?(dmabuf: DmaBuf, exp: ExpData, imp: ImpData): MatchResult;
  /** Record type-specific results on the attachment after a match (e.g. the legacy SGT fields). */
  finishMatch?(attach: DmaBufAttachment, exp: ExpData, imp: ImpData): void;
}

/**
 * A mapping type ("interconnect"): a unique object with a name and a match
 * function. Identity is the object itself, not a global enum, so any driver
 * can define a private type. Entries are built with `exporter(...)` and
 * `importer(...)` (the `DMA_BUF_EMAPPING_*` / `DMA_BUF_IMAPPING_*` helpers).
 *
 * @kernel struct dma_buf_mapping_type (dma-buf mapping-types RFC, Feb 2026; not upstream)
 */
export class DmaBufMappingType<ExpData, ImpData, ExpOps> {
  constructor(
    readonly name: string,
    readonly impl: DmaBufMappingTypeImpl<ExpData, ImpData> = {},
  ) {}

  /** An exporter entry offering this type with `ops` (its typed map/unmap) and match data. */
  exporter(ops: ExpOps, data: ExpData): DmaBufExpMatch<ExpData, ExpOps> {
    return { type: this as unknown as DmaBufMappingType<ExpData, never, ExpOps>, ops, data };
  }

  /** An importer entry accepting this type. */
  importer(data: ImpData): DmaBufImpMatch<ImpData> {
    return { type: this as unknown as DmaBufMappingType<never, ImpData, never>, data };
  }

  /** True if `m` is an entry of this type (narrows its data and ops). */
  owns(m: DmaBufExpMatch): m is DmaBufExpMatch<ExpData, ExpOps> {
    return (m.type as unknown) === this;
  }

  toString(): string {
    return this.name;
  }
}

/** Any mapping type, for heterogeneous lists. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMappingType = DmaBufMappingType<any, any, any>;

/**
 * The negotiated mapping recorded on an attachment: the type, a copy of the
 * exporter's entry (its ops and data) and the importer's entry.
 *
 * @kernel attach->map_type (mapping-types RFC), attach->ic_match (interconnect RFC v2)
 */
export interface DmaBufMapType {
  readonly type: AnyMappingType;
  readonly exp: DmaBufExpMatch;
  readonly imp: DmaBufImpMatch;
  /** Index of the winning entry in the exporter's list (0 = its first choice). */
  readonly expIndex: number;
}

/**
 * Arguments of a negotiation: the buffer, the attachment being created and
 * the importer's accepted types.
 *
 * @kernel struct dma_buf_match_args (mapping-types RFC)
 */
export interface DmaBufMatchArgs {
  readonly dmabuf: DmaBuf;
  readonly attach: DmaBufAttachment;
  readonly impMatches: readonly DmaBufImpMatch[];
}

/**
 * `dma_buf_match_mapping`: the exporter's list decides priority. For each
 * exporter entry in order, try each importer entry of the same type; the
 * type's match function may accept (0: record and return 0), decline
 * (`-EOPNOTSUPP`: keep searching) or fail (any other errno: return it, the
 * attach fails). No agreement at all is `-EINVAL`. Called by the exporter's
 * `matchMapping` (from attach); process context, resv lock not held.
 *
 * @kernel dma_buf_match_mapping (mapping-types RFC)
 */
export function dmaBufMatchMapping(
  args: DmaBufMatchArgs,
  expMatches: readonly DmaBufExpMatch[],
): number {
  for (let e = 0; e < expMatches.length; e++) {
    const exp = expMatches[e]!;
    for (const imp of args.impMatches) {
      if ((imp.type as unknown) !== (exp.type as unknown)) continue;
      const type = exp.type as AnyMappingType;
      const r = type.impl.match ? type.impl.match(args.dmabuf, exp.data, imp.data) : 0;
      if (r === -Errno.EOPNOTSUPP) continue;
      if (r !== 0) return r;
      args.attach.recordMapType({ type, exp, imp, expIndex: e });
      type.impl.finishMatch?.(args.attach, exp.data, imp.data);
      return 0;
    }
  }
  return -Errno.EINVAL;
}
