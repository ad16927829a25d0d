import { Errno, INT_MAX, wholeArg } from '../../kernel/index.ts';
import { lockdepSysExit } from './syscall-exit.ts';
import type { Kernel, Thread, ThreadFn } from '../../kernel/index.ts';
import { OpenFile, lookupDevice } from './file.ts';
import type { File, FileContext } from './file.ts';
import { DEFAULT_POLLMASK, POLLERR, POLLHUP, POLLNVAL, PollTable } from './poll.ts';

declare module './forward.ts' {
  /** The forward-declared `UserProcess` of the files below this one is this class. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging: adds UserProcess's members
  interface UserProcess extends UserProcessClass {}
}
/** The class, under a name the merged declaration above can extend. */
type UserProcessClass = UserProcess;

/**
 * One entry of a poll(2) call (`struct pollfd`); `revents` is written back.
 *
 * @kernel struct pollfd
 */
export interface PollFd {
  fd: number;
  events: number;
  revents?: number;
}

/**
 * Return to user space with a signal pending (`exit_to_user_mode` →
 * `arch_do_signal_or_restart`): the process's handler takes the signal (it
 * is no longer pending), and a system call that the signal interrupted with
 * -ERESTARTSYS returns -EINTR, as for a handler installed without
 * `SA_RESTART` (userspace such as libdrm's `drmIoctl` then restarts the
 * call itself). Without a pending signal, `ret` as it is.
 *
 * @kernel arch_do_signal_or_restart (the -ERESTARTSYS case), get_signal
 */
export function signalOnSyscallExit(t: Thread, ret: number): number {
  if (!t.signalPending) return ret;
  t.signalPending = false;
  return ret === -Errno.ERESTARTSYS ? -Errno.EINTR : ret;
}

/** `RLIMIT_NOFILE` default. */
export const DEFAULT_NOFILE = 1024;

/**
 * A userspace process: a name, an fd table and the threads that act for it.
 * Its methods are the system calls the dma-fence userspace ABI needs:
 * `open`, `close`, `dup`, `ioctl` (by request name), `poll`, `read`, and
 * passing an fd to another process (SCM_RIGHTS). They must be called from a
 * simulated thread (`proc.spawn` starts one) and return 0 / a value or a
 * negative errno, as the syscalls' kernel side does.
 *
 * @kernel struct files_struct and the fd syscalls (fs/file.c, fs/ioctl.c, fs/select.c)
 */
export class UserProcess {
  /** The fd table: fd → open file. */
  readonly fds = new Map<number, OpenFile>();
  /** `RLIMIT_NOFILE`: fds are 0 .. nofile-1. */
  nofile = DEFAULT_NOFILE;
  private readonly threads: Thread[] = [];

  constructor(
    readonly kernel: Kernel,
    readonly name: string,
  ) {}

  /**
   * Start a thread of this process (named `name`; its name is the task comm).
   * A user task takes signals (`Thread.signalsAllowed`): an exploration with
   * `--faults signal` may interrupt its interruptible sleeps in the kernel.
   */
  spawn(name: string, fn: ThreadFn): Thread {
    const t = this.kernel.kthreadRun(name, fn);
    t.signalsAllowed = true;
    this.threads.push(t);
    return t;
  }

  /** Threads started with `spawn`. */
  get allThreads(): readonly Thread[] {
    return this.threads;
  }

  private ctx(): FileContext {
    const k = this.kernel;
    return { kernel: k, proc: this, thread: k.current };
  }

  /** `get_unused_fd_flags`: the lowest free fd, or -EMFILE. Nothing is reserved until `fdInstall`. */
  getUnusedFd(): number {
    for (let fd = 0; fd < this.nofile; fd++) if (!this.fds.has(fd)) return fd;
    return -Errno.EMFILE;
  }

  /** `fd_install`: `fd` now refers to `file` (the caller's reference moves to the table). */
  fdInstall(fd: number, file: OpenFile): void {
    if (this.fds.has(fd)) throw new Error(`fd_install: fd ${fd} of ${this.name} is in use`);
    this.fds.set(fd, file);
  }

  /** Install a new open file of `file` at the lowest free fd; the fd or -EMFILE (the file is released then). */
  installFile(file: File): number {
    const fd = this.getUnusedFd();
    const of = new OpenFile(file);
    if (fd < 0) {
      of.put();
      return fd;
    }
    this.fdInstall(fd, of);
    return fd;
  }

  /** `fget`: a new reference to the open file behind `fd`, or null. Put it with `OpenFile.put`. */
  fget(fd: number): OpenFile | null {
    const of = this.fds.get(fd);
    return of ? of.get() : null;
  }

  /** `close(2)`: 0 or -EBADF. The file is released when its last reference goes. */
  close(fd: number): number {
    const of = this.fds.get(fd);
    if (!of) return -Errno.EBADF;
    this.fds.delete(fd);
    of.put();
    return 0;
  }

  /** `dup(2)`: a new fd for the same open file, or -EBADF / -EMFILE. */
  dup(fd: number): number {
    const of = this.fds.get(fd);
    if (!of) return -Errno.EBADF;
    const nfd = this.getUnusedFd();
    if (nfd < 0) return nfd;
    this.fdInstall(nfd, of.get());
    return nfd;
  }

  /** Send `fd` to `to` (SCM_RIGHTS): the new fd in `to`, or -EBADF / -EMFILE. Both share the open file. */
  passFd(fd: number, to: UserProcess): number {
    const of = this.fds.get(fd);
    if (!of) return -Errno.EBADF;
    const nfd = to.getUnusedFd();
    if (nfd < 0) return nfd;
    to.fdInstall(nfd, of.get());
    return nfd;
  }

  /** `open(2)` of a registered device path: the fd, -ENOENT (no such node) or the opener's error. */
  open(path: string): number {
    const opener = lookupDevice(this.kernel, path);
    if (!opener) return -Errno.ENOENT;
    const fd = this.getUnusedFd();
    if (fd < 0) return fd;
    const file = opener(this.ctx());
    if (typeof file === 'number') return file;
    this.fdInstall(fd, new OpenFile(file));
    return fd;
  }

  /**
   * `ioctl(2)` by request name: -EBADF for a bad fd, -ENOTTY if the file
   * has no ioctls or does not know the request, else the file's result.
   * A scheduling point. Process context.
   */
  async ioctl(fd: number, request: string, arg?: unknown): Promise<number> {
    const k = this.kernel;
    const t = k.current;
    const depth = t.held.length;
    await k.schedulePoint(`ioctl:${request}`);
    const of = this.fget(fd);
    if (!of) return -Errno.EBADF;
    let ret: number = -Errno.ENOTTY;
    try {
      const f = of.file;
      if (f.ioctl) ret = await f.ioctl(this.ctx(), request, arg);
    } finally {
      of.put();
      lockdepSysExit(k, t, depth, `ioctl(${request})`);
    }
    return signalOnSyscallExit(t, ret);
  }

  /** `read(2)` of a text file (debugfs): the text, -EBADF, or -EINVAL if the file cannot be read. */
  read(fd: number): string | number {
    const of = this.fget(fd);
    if (!of) return -Errno.EBADF;
    try {
      return of.file.read ? of.file.read(this.ctx()) : -Errno.EINVAL;
    } finally {
      of.put();
    }
  }

  /**
   * `poll(2)`: the number of entries with non-zero `revents` (written back),
   * 0 on timeout, or -EINTR when a signal arrives. `timeoutMs` < 0 waits
   * forever, 0 only polls. More entries than `RLIMIT_NOFILE` is -EINVAL
   * (`do_sys_poll`). A negative fd is ignored: its `revents` is 0 and it is
   * not counted (`do_pollfd`); a closed or unknown fd reports POLLNVAL.
   * Sleeps in the calling thread until a polled file wakes its queue, the
   * timeout or a signal. Process context.
   *
   * @kernel do_sys_poll, do_poll, do_pollfd (fs/select.c)
   */
  async poll(fds: PollFd[], timeoutMs: number): Promise<number> {
    wholeArg('UserProcess.poll(fds, timeoutMs)', 'timeoutMs', timeoutMs, 'of milliseconds (int; negative waits forever)', INT_MAX, -INT_MAX - 1);
    const k = this.kernel;
    const t = k.current;
    if (fds.length > this.nofile) return -Errno.EINVAL;
    k.mightSleep('poll');
    await k.schedulePoint('poll');
    const deadlineNs = timeoutMs < 0 ? Number.POSITIVE_INFINITY : k.nowNs + timeoutMs * 1e6;
    const pt = new PollTable(k, t);
    const ctx = this.ctx();
    try {
      for (;;) {
        pt.triggered = false;
        let count = 0;
        for (const p of fds) {
          let revents: number;
          if (p.fd < 0) {
            revents = 0;
          } else {
            const of = this.fget(p.fd);
            if (!of) {
              revents = POLLNVAL;
            } else {
              const mask = of.file.poll ? of.file.poll(ctx, pt) : DEFAULT_POLLMASK;
              of.put();
              revents = mask & (p.events | POLLERR | POLLHUP);
            }
          }
          p.revents = revents;
          if (revents !== 0) count++;
        }
        pt.registering = false;
        if (count > 0) return count;
        const leftNs = deadlineNs - k.nowNs;
        if (leftNs <= 0) return 0;
        if (t.signalPending) return signalOnSyscallExit(t, -Errno.EINTR);
        if (pt.triggered) continue;
        await k.block(t, pt, 'poll', { timeoutNs: leftNs, interruptible: true });
      }
    } finally {
      pt.free();
    }
  }

  /** Process exit: close every fd. */
  exit(): void {
    for (const fd of [...this.fds.keys()]) this.close(fd);
  }
}
