import { describeValue, KernelMisuse } from '../kernel/index.ts';
/**
 * `dma_fence.flags` bits, in the order of the current `enum dma_fence_flag_bits`.
 * Bits from `USER_BITS` up to 27 are free for the fence implementer (sw_sync
 * uses `USER_BITS` as "has deadline"); bits 28..30 are used by the model itself
 * and must not be touched by drivers (a deliberate addition: they carry
 * bookkeeping the checkers need without growing every fence).
 *
 * @kernel enum dma_fence_flag_bits (include/linux/dma-fence.h)
 */
export const DmaFenceFlag = {
  SEQNO64_BIT: 0,
  SIGNALED_BIT: 1,
  TIMESTAMP_BIT: 2,
  ENABLE_SIGNAL_BIT: 3,
  USER_BITS: 4,
} as const;

/** Masks of the flag bits, for `fence.flags & mask`. */
export const SEQNO64 = 1 << DmaFenceFlag.SEQNO64_BIT;
export const SIGNALED = 1 << DmaFenceFlag.SIGNALED_BIT;
export const TIMESTAMP = 1 << DmaFenceFlag.TIMESTAMP_BIT;
export const ENABLE_SIGNAL = 1 << DmaFenceFlag.ENABLE_SIGNAL_BIT;

/** @internal model bookkeeping: the fence is in the indefinite-fence registry. */
export const MODEL_OBSERVED = 1 << 28;
/**
 * @internal model bookkeeping: the rule book judges this fence (its driver
 * declares in-order signalling), so its init / signal / destroy events are
 * built even when nobody traces; other fences cost nothing unless traced.
 */
export const MODEL_RULED = 1 << 29;
/** @internal model bookkeeping: `dma_fence_init` ran (containers allocate first, init later). */
export const MODEL_INITIALIZED = 1 << 30;

/** `MAX_ERRNO`: errors stored in a fence must lie in [-MAX_ERRNO, -1]. */
export const MAX_ERRNO = 4095;

// `INT_MAX` (the chunk size of sw_sync timeline increments) comes from the kernel layer's argument checks.
export { INT_MAX } from '../kernel/index.ts';

/**
 * `__dma_fence_is_later(fence, a, b)` on raw seqnos: with SEQNO64 a plain
 * `a > b`; otherwise only the low 32 bits count and `a` is later iff the
 * signed 32-bit difference is positive (serial-number arithmetic, so a
 * timeline may wrap). Values 2^31 apart are not later in either direction.
 *
 * @kernel __dma_fence_is_later
 */
export function seqnoIsLater(seqno64: boolean, a: number, b: number): boolean {
  if (seqno64) return a > b;
  return (((a >>> 0) - (b >>> 0)) | 0) > 0;
}

/** Largest seqno or context the model accepts: JavaScript numbers are exact up to 2^53. */
export const MAX_SEQNO = Number.MAX_SAFE_INTEGER;

/**
 * Refuse a seqno or context that a JavaScript number cannot represent
 * exactly (a documented difference: the kernel's u64 range is not fully
 * available). A negative value is refused too, with a hint for 32-bit
 * timelines started "at -127".
 *
 * @kernel none: guards the model's documented difference (u64 seqnos and contexts as JavaScript numbers)
 */
export function checkU64(what: string, v: number): void {
  if (Number.isSafeInteger(v) && v >= 0) return;
  throw new KernelMisuse(
    `${what} must be a whole number from 0 to 2^53 - 1 (u64 values above 2^53 are not representable in the model), got ${describeValue(v)}` +
      (Number.isInteger(v) && v < 0 && v >= -0x80000000
        ? `; for a 32-bit timeline started at ${v} pass the u32 value (${v} >>> 0) = ${v >>> 0}`
        : ''),
  );
}
