/**
 * The reservation-object layer: `DmaResv` (ww_mutex of `reservation_ww_class`
 * plus the usage-tagged fence table), its locked and unlocked iterators and
 * the queries built on them.
 */
export * from './usage.ts';
export * from './list.ts';
export * from './iter.ts';
export * from './query.ts';
export * from './resv.ts';
