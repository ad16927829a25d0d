/**
 * `copy_from_user` for the model's ioctl arguments: a struct argument must be
 * a plain object; its numeric fields integers of the C type's range (a
 * missing field reads as 0, like a zero-initialised struct). Anything else
 * is the model's EFAULT: the kernel could not have copied it.
 */
export type UserStruct = Record<string, unknown>;

/**
 * The argument is a struct the kernel can copy.
 *
 * @kernel none: the model's user memory is a plain object; this is its access_ok
 */
export function isUserStruct(arg: unknown): arg is UserStruct {
  return typeof arg === 'object' && arg !== null && !Array.isArray(arg);
}

const FAULT = Symbol('EFAULT');
type Fault = typeof FAULT;

function intIn(v: unknown, lo: number, hi: number): number | Fault {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) return FAULT;
  return v;
}

/**
 * Reads of typed fields; each returns the value or `null` for a fault.
 *
 * @kernel get_user
 */
export function readU32(o: UserStruct, key: string): number | null {
  const v = intIn(o[key], 0, 0xffffffff);
  return v === FAULT ? null : v;
}

/**
 * Read an `__s32` field; `null` for a fault.
 *
 * @kernel get_user
 */
export function readS32(o: UserStruct, key: string): number | null {
  const v = intIn(o[key], -0x80000000, 0x7fffffff);
  return v === FAULT ? null : v;
}

/**
 * Read a `__u64` field (exact up to 2^53); `null` for a fault.
 *
 * @kernel get_user
 */
export function readU64(o: UserStruct, key: string): number | null {
  const v = intIn(o[key], 0, Number.MAX_SAFE_INTEGER);
  return v === FAULT ? null : v;
}

/**
 * A `char name[len]` field: a string (missing reads as empty), cut to `len - 1` characters (NUL-terminated).
 *
 * @kernel copy_from_user of a char array field, then strscpy (sync_file_ioctl_merge's name)
 */
export function readName(o: UserStruct, key: string, len = 32): string | null {
  const v = o[key];
  if (v === undefined) return '';
  if (typeof v !== 'string') return null;
  return v.slice(0, len - 1);
}

/** `strscpy` into a `char[len]`. */
export function cName(s: string, len = 32): string {
  return s.slice(0, len - 1);
}
