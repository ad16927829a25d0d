/**
 * Argument checks of the kernel-facing API: sleeps, timeouts, seqnos,
 * credits, sizes and counts that are not numbers, NaN, not integers, or
 * negative where the kernel takes an unsigned type are refused with a
 * `KernelMisuse` naming the function, the argument and what it must be.
 * (`msleep(k, 'ten')` would otherwise sleep 0 ns, and a NaN seqno would
 * compare false with everything.) Values the kernel itself answers for —
 * a negative `schedule_timeout`, an oversized `kmalloc` — are not refused
 * here: the callers give the kernel's answer (a splat, an errno, NULL).
 */
import type { Kernel } from './kernel.ts';
import { describeValue, KernelMisuse } from './run-types.ts';

/** Largest values of the C types the API documents its arguments as. */
export const U32_MAX = 0xffff_ffff;
/** `INT_MAX`. */
export const INT_MAX = 0x7fff_ffff;
/** u64 and size_t as JavaScript numbers: exact up to 2^53 - 1 (a documented difference). */
export const U64_MAX = Number.MAX_SAFE_INTEGER;

/**
 * `v` as a whole number from `min` to `max`; otherwise a `KernelMisuse`:
 * `fn: name must be a whole number <what> from min to max, got ...`.
 * `what` describes the unit or type (`of milliseconds`, `(u64 seqno)`).
 *
 * @kernel none: the model's argument check (C's types do it at compile time)
 */
export function wholeArg(fn: string, name: string, v: unknown, what: string, max = U64_MAX, min = 0): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
  throw new KernelMisuse(
    `${fn}: ${name} must be a whole number${what ? ` ${what}` : ''} from ${min} to ${max}, got ${describeValue(v)}.`,
  );
}

/**
 * A timeout in jiffies as the kernel's `long` timeouts take it: a whole
 * number, or `Infinity` for `MAX_SCHEDULE_TIMEOUT`. Negative values pass
 * (the caller answers as the kernel does); NaN, fractions and non-numbers
 * are refused.
 *
 * @kernel none: the model's argument check
 */
export function timeoutArg(fn: string, name: string, v: unknown): number {
  if (typeof v === 'number' && (Number.isInteger(v) || v === Number.POSITIVE_INFINITY)) return v;
  throw new KernelMisuse(
    `${fn}: ${name} must be a whole number of jiffies (or Infinity for MAX_SCHEDULE_TIMEOUT; convert milliseconds with k.msecsToJiffies(ms)), got ${describeValue(v)}.`,
  );
}

/**
 * An `unsigned long` timeout or delay in jiffies: a whole number >= 0, or
 * `Infinity` (MAX_SCHEDULE_TIMEOUT) when `infinite`.
 *
 * @kernel none: the model's argument check
 */
export function jiffiesArg(fn: string, name: string, v: unknown, infinite = true): number {
  if (typeof v === 'number' && ((Number.isInteger(v) && v >= 0) || (infinite && v === Number.POSITIVE_INFINITY))) return v;
  throw new KernelMisuse(
    `${fn}: ${name} must be a whole number of jiffies >= 0 (unsigned long${infinite ? '; Infinity for MAX_SCHEDULE_TIMEOUT' : ''}; convert milliseconds with k.msecsToJiffies(ms)), got ${describeValue(v)}.`,
  );
}

/**
 * A time in ns (`ktime_t`, signed 64-bit): a whole number, negative
 * allowed; `Infinity` only when `infinite` (KTIME_MAX).
 *
 * @kernel none: the model's argument check
 */
export function ktimeArg(fn: string, name: string, v: unknown, infinite = false): number {
  if (typeof v === 'number' && (Number.isSafeInteger(v) || (infinite && v === Number.POSITIVE_INFINITY))) return v;
  throw new KernelMisuse(
    `${fn}: ${name} must be a whole number of nanoseconds${infinite ? ' (or Infinity for KTIME_MAX)' : ''}, got ${describeValue(v)}.`,
  );
}

/**
 * A `long` timeout in jiffies as `schedule_timeout` treats it: checked with
 * `timeoutArg`; a negative one is reported as the kernel's "wrong timeout
 * value" error (`sched.wrong_timeout`, with the backtrace `dump_stack`
 * prints) and becomes 0: the call does not sleep and returns as timed out.
 *
 * @kernel schedule_timeout (kernel/time/sleep_timeout.c): the timeout < 0 branch
 */
export function signedTimeout(k: Kernel, fn: string, name: string, v: unknown): number {
  const t = timeoutArg(fn, name, v);
  if (t >= 0) return t;
  k.splat({
    rule: 'sched.wrong_timeout',
    severity: 'warn',
    headline: `schedule_timeout: wrong timeout value ${BigInt.asUintN(64, BigInt(t)).toString(16)}`,
    body: `${fn} was given ${name} = ${t} jiffies. The kernel prints this error with a backtrace and does not sleep: the call returns as timed out.`,
    data: { fn, timeout: t },
  });
  return 0;
}
