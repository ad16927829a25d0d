/**
 * Linux errno values (asm-generic/errno-base.h, errno.h and the kernel-internal
 * ones from linux/errno.h). Kernel operations in the model return these
 * negated, exactly as kernel code does: `return -Errno.EDEADLK`.
 *
 * @kernel include/uapi/asm-generic/errno-base.h, include/linux/errno.h
 */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ENOSPC: 28,
  ESPIPE: 29,
  EPIPE: 32,
  ERANGE: 34,
  EDEADLK: 35,
  ENOSYS: 38,
  ENODATA: 61,
  ETIME: 62,
  EOVERFLOW: 75,
  ECANCELED: 125,
  EOPNOTSUPP: 95,
  EREMOTEIO: 121,
  ETIMEDOUT: 110,
  EALREADY: 114,
  EINPROGRESS: 115,
  ERESTARTSYS: 512,
  ERESTARTNOINTR: 513,
  ENOTSUPP: 524,
} as const;

/** The name of an errno value, e.g. `EDEADLK`. */
export type ErrnoName = keyof typeof Errno;

const namesByValue = new Map<number, ErrnoName>(
  (Object.keys(Errno) as ErrnoName[]).map((name) => [Errno[name], name]),
);

/**
 * Name of an errno value, accepting the negated kernel form: `errnoName(-35)` is `"EDEADLK"`.
 *
 * @kernel errname (lib/errname.c, what %pe prints)
 */
export function errnoName(value: number): string {
  return namesByValue.get(Math.abs(value)) ?? `errno ${value}`;
}

/** `IS_ERR_VALUE`: a negative errno in the kernel's error range. @kernel IS_ERR_VALUE */
export function isErrno(value: unknown): value is number {
  return typeof value === 'number' && value < 0 && value >= -4095;
}

/** `MAX_SCHEDULE_TIMEOUT`: a wait that never times out. */
export const MAX_SCHEDULE_TIMEOUT = Number.POSITIVE_INFINITY;
