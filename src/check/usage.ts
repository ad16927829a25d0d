/**
 * Lock usage bits per class (`enum lock_usage_bit`), the exclusive-bit
 * arithmetic of the IRQ-safety checks, and the `{+.+.}` notation.
 *
 * Bit layout as in the kernel: bit0 = read, bit1 = direction (0 used in IRQ,
 * 1 acquired with that IRQ enabled), bits 2.. = the IRQ state.
 *
 * @kernel kernel/locking/lockdep_internals.h, lockdep_states.h
 */

/** `LOCK_USED_IN_HARDIRQ` … `LOCK_USED_READ`. */
export const Usage = {
  USED_IN_HARDIRQ: 0,
  USED_IN_HARDIRQ_READ: 1,
  ENABLED_HARDIRQ: 2,
  ENABLED_HARDIRQ_READ: 3,
  USED_IN_SOFTIRQ: 4,
  USED_IN_SOFTIRQ_READ: 5,
  ENABLED_SOFTIRQ: 6,
  ENABLED_SOFTIRQ_READ: 7,
  USED: 8,
  USED_READ: 9,
} as const;

/** Number of IRQ usage bits (`LOCK_USAGE_STATES` without the "used" bits). */
export const IRQ_USAGE_BITS = 8;
export const READ_MASK = 1;
export const DIR_MASK = 2;

/** `LOCKF_USED_IN_IRQ_ALL` (write and read). */
export const LOCKF_USED_IN_IRQ_ALL = 0x33;
/** `LOCKF_ENABLED_IRQ_ALL`. */
export const LOCKF_ENABLED_IRQ_ALL = 0xcc;
/** `LOCKF_IRQ`: the non-read IRQ bits. */
export const LOCKF_IRQ = 0x55;
/** `LOCKF_IRQ_READ`: the read IRQ bits. */
export const LOCKF_IRQ_READ = 0xaa;

/** `usage_str[]`: names of the usage bits as reports print them. */
export const USAGE_STR: readonly string[] = [
  'IN-HARDIRQ-W',
  'IN-HARDIRQ-R',
  'HARDIRQ-ON-W',
  'HARDIRQ-ON-R',
  'IN-SOFTIRQ-W',
  'IN-SOFTIRQ-R',
  'SOFTIRQ-ON-W',
  'SOFTIRQ-ON-R',
  'INITIAL USE',
  'INITIAL READ USE',
];

/** `exclusive_bit`: keep the state, flip the direction, strip read. @kernel exclusive_bit */
export function exclusiveBit(bit: number): number {
  return (bit & ~(READ_MASK | DIR_MASK)) | ((bit & DIR_MASK) ^ DIR_MASK);
}

function invertDirMask(mask: number): number {
  return ((mask & LOCKF_ENABLED_IRQ_ALL) >> DIR_MASK) | ((mask & LOCKF_USED_IN_IRQ_ALL) << DIR_MASK);
}

/**
 * `exclusive_mask`: the usage bits incompatible with `mask` (read and write
 * usages both conflict with either kind on the other side).
 *
 * @kernel exclusive_mask
 */
export function exclusiveMask(mask: number): number {
  let excl = invertDirMask(mask);
  excl |= (excl & LOCKF_IRQ_READ) >> READ_MASK;
  excl |= (excl & LOCKF_IRQ) << READ_MASK;
  return excl;
}

/** `original_mask`: the usages to which the bits of `mask` are exclusive. @kernel original_mask */
export function originalMask(mask: number): number {
  return exclusiveMask(mask);
}

/** `find_exclusive_match`: the first pair (bit of `mask`, exclusive bit in `excl`). @kernel find_exclusive_match */
export function findExclusiveMatch(mask: number, excl: number): [number, number] | null {
  for (let bit = 0; bit < IRQ_USAGE_BITS; bit++) {
    if ((mask & (1 << bit)) === 0) continue;
    const e = exclusiveBit(bit);
    if (excl & (1 << e)) return [bit, e];
    if (excl & (1 << (e | READ_MASK))) return [bit, e | READ_MASK];
  }
  return null;
}

/** `state_name`: `HARDIRQ`, `SOFTIRQ-READ`, … for a usage bit. @kernel state_name */
export function stateName(bit: number): string {
  const base = bit >> DIR_MASK === 0 ? 'HARDIRQ' : 'SOFTIRQ';
  return bit & READ_MASK ? `${base}-READ` : base;
}

/**
 * The IRQ kind of a usage bit, without read suffix.
 *
 * @kernel state_names[] (kernel/locking/lockdep.c): the IRQ class of a usage bit
 */
export function irqKindName(bit: number): 'HARDIRQ' | 'SOFTIRQ' {
  return bit >> DIR_MASK === 0 ? 'HARDIRQ' : 'SOFTIRQ';
}

function usageChar(usage: number, bit: number): string {
  const enabled = (usage & (1 << (bit + DIR_MASK))) !== 0;
  const used = (usage & (1 << bit)) !== 0;
  if (enabled) return used ? '?' : '+';
  return used ? '-' : '.';
}

/**
 * `get_usage_chars`: four characters (hardirq write, hardirq read, softirq
 * write, softirq read): `.` never in IRQ and only with IRQs off, `-` in IRQ,
 * `+` with IRQs on, `?` both.
 *
 * @kernel get_usage_chars
 */
export function usageChars(usage: number): string {
  return (
    usageChar(usage, Usage.USED_IN_HARDIRQ) +
    usageChar(usage, Usage.USED_IN_HARDIRQ_READ) +
    usageChar(usage, Usage.USED_IN_SOFTIRQ) +
    usageChar(usage, Usage.USED_IN_SOFTIRQ_READ)
  );
}

/**
 * Names of the set usage bits, for `--json`.
 *
 * @kernel usage_str[] (kernel/locking/lockdep.c)
 */
export function usageNames(usage: number): string[] {
  const out: string[] = [];
  for (let b = 0; b < USAGE_STR.length; b++) if (usage & (1 << b)) out.push(USAGE_STR[b]!);
  return out;
}
