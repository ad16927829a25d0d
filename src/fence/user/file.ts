import type { Kernel, Thread } from '../../kernel/index.ts';
import type { PollTable } from './poll.ts';
import type { UserProcess } from './forward.ts';

/** Who issues a file operation: the kernel, the calling process and its thread. */
export interface FileContext {
  readonly kernel: Kernel;
  readonly proc: UserProcess;
  readonly thread: Thread;
}

/**
 * What an open file must implement to live in a `UserProcess` fd table
 * (`struct file_operations`, the parts the model uses). sync_file and sw_sync
 * implement it; dma-buf fds will too. `fileType` plays the role of the
 * `f_op` identity (`file->f_op == &sync_file_fops`).
 *
 * Ioctl requests are names (`'SYNC_IOC_MERGE'`); arguments are plain objects
 * (or numbers for scalar arguments) that the ioctl reads and writes back, as
 * `copy_from_user` / `copy_to_user` would. Results are 0 or a negative errno.
 *
 * @kernel struct file_operations (include/linux/fs.h)
 */
export interface File {
  readonly fileType: string;
  /** `unlocked_ioctl`; absent → -ENOTTY. Unknown requests → -ENOTTY. */
  ioctl?(ctx: FileContext, request: string, arg: unknown): number | Promise<number>;
  /** `poll`: register with `pollWait(pt, wq)` and return the ready mask. Absent → DEFAULT_POLLMASK. */
  poll?(ctx: FileContext, pt: PollTable | null): number;
  /** `read` of a text file (debugfs); absent → -EINVAL. */
  read?(ctx: FileContext): string | number;
  /** `release`: the last reference to the open file was dropped. */
  release?(): void;
}

/**
 * `struct file`: an open file and its reference count (`f_count`), shared
 * by every fd (in any process) that refers to it. `release` runs on the last
 * `fput`.
 *
 * @kernel struct file, fget, fput
 */
export class OpenFile {
  count = 1;

  constructor(readonly file: File) {}

  /** `get_file`. */
  get(): this {
    this.count++;
    return this;
  }

  /** `fput`: the last put releases the file. */
  put(): void {
    if (--this.count === 0) this.file.release?.();
  }
}

/** Opens a device node for a process: a new file, or a negative errno. */
export type DeviceOpener = (ctx: FileContext) => File | number;

const defaultDevices = new Map<string, DeviceOpener>();
const kernelDevices = new WeakMap<Kernel, Map<string, DeviceOpener>>();

/**
 * Make `path` openable by `UserProcess.open` (a char device or debugfs node):
 * for every kernel, or only for `k`. sw_sync registers
 * `/sys/kernel/debug/sync/sw_sync` and `/sys/kernel/debug/sync/info`.
 *
 * @kernel debugfs_create_file, misc_register (what makes a node openable)
 */
export function registerDevice(path: string, open: DeviceOpener, k?: Kernel): void {
  if (k) {
    let m = kernelDevices.get(k);
    if (!m) {
      m = new Map();
      kernelDevices.set(k, m);
    }
    m.set(path, open);
  } else {
    defaultDevices.set(path, open);
  }
}

/**
 * The opener registered for `path` (kernel-specific first).
 *
 * @kernel none: the model's stand-in for the VFS lookup of open(2) (do_filp_open)
 */
export function lookupDevice(k: Kernel, path: string): DeviceOpener | undefined {
  return kernelDevices.get(k)?.get(path) ?? defaultDevices.get(path);
}
