import { Errno } from '../../kernel/index.ts';
import type { Kernel } from '../../kernel/index.ts';
import { fenceAlloc } from '../alloc.ts';
import { DmaFenceCb } from '../callback.ts';
import type { DmaFence } from '../fence.ts';
import { markObserved } from '../rules.ts';
import { dmaFenceUnwrapForEach, dmaFenceUnwrapMerge } from '../unwrap.ts';
import { cName, isUserStruct, readName, readS32, readU32, readU64 } from './args.ts';
import { OpenFile } from './file.ts';
import type { File, FileContext } from './file.ts';
import { POLLIN, PollWaitQueue, pollWait } from './poll.ts';
import type { PollTable } from './poll.ts';
import type { UserProcess } from './process.ts';

/**
 * `struct sync_fence_info` as SYNC_IOC_FILE_INFO writes it.
 *
 * @kernel struct sync_fence_info
 */
export interface SyncFenceInfo {
  objName: string;
  driverName: string;
  status: number;
  flags: number;
  timestampNs: number;
}

class SyncFileCb extends DmaFenceCb {
  constructor(readonly syncFile: SyncFile) {
    super();
  }
}

/** `fence_check_cb_func`: wake every poller. Runs under the fence lock. */
function fenceCheckCbFunc(_f: DmaFence, cb: DmaFenceCb): void {
  if (cb instanceof SyncFileCb) cb.syncFile.wq.wakeUpAll();
}

/**
 * `struct sync_file`: an anonymous file exporting one fence to userspace.
 * Created with `syncFileCreate`; installed in a process with
 * `UserProcess.installFile`.
 *
 * @kernel struct sync_file, sync_file_fops (drivers/dma-buf/sync_file.c)
 */
export class SyncFile implements File {
  readonly fileType = 'sync_file';
  /** `user_name` (set by merges); empty means "derive from the fence". */
  userName = '';
  readonly wq = new PollWaitQueue();
  /** `POLL_ENABLED` flag bit. */
  pollEnabled = false;
  readonly cb: SyncFileCb = new SyncFileCb(this);

  /** @internal use `syncFileCreate`. */
  constructor(
    readonly kernel: Kernel,
    public fence: DmaFence,
  ) {}

  /**
   * `sync_file_poll`: register on the queue; the first poll arms a callback
   * that wakes pollers when the fence signals (immediately if it already
   * has). POLLIN iff the fence is signalled (with or without an error).
   */
  poll(_ctx: FileContext, pt: PollTable | null): number {
    pollWait(pt, this.wq);
    if (!this.cb.queued && !this.pollEnabled) {
      this.pollEnabled = true;
      if (this.fence.addCallback(this.cb, fenceCheckCbFunc) < 0) this.wq.wakeUpAll();
    }
    return this.fence.isSignaled() ? POLLIN : 0;
  }

  /** `sync_file_release`: drop the poll callback and the fence reference. */
  release(): void {
    if (this.pollEnabled) this.fence.removeCallback(this.cb);
    this.fence.put();
  }

  /** `sync_file_ioctl`: SYNC_IOC_MERGE, SYNC_IOC_FILE_INFO, SYNC_IOC_SET_DEADLINE; else -ENOTTY. */
  ioctl(ctx: FileContext, request: string, arg: unknown): number {
    switch (request) {
      case 'SYNC_IOC_MERGE':
        return syncFileIoctlMerge(ctx, this, arg);
      case 'SYNC_IOC_FILE_INFO':
        return syncFileIoctlFenceInfo(this, arg);
      case 'SYNC_IOC_SET_DEADLINE':
        return syncFileIoctlSetDeadline(this, arg);
      default:
        return -Errno.ENOTTY;
    }
  }
}

/**
 * `sync_file_create`: a new sync_file holding a new reference to `fence`, or
 * null on allocation failure. The fence is now published to userspace (the
 * indefinite-fence check watches it).
 *
 * @kernel sync_file_create
 */
export function syncFileCreate(k: Kernel, fence: DmaFence): SyncFile | null {
  if (!fenceAlloc(k, 128, 'sync_file_alloc')) return null;
  const sf = new SyncFile(k, fence.get());
  markObserved(fence);
  return sf;
}

/**
 * `sync_file_fdget`: the sync_file behind `fd` (with a file reference to put), or null.
 *
 * @kernel sync_file_fdget
 */
export function syncFileFdget(
  proc: UserProcess,
  fd: number,
): { file: OpenFile; syncFile: SyncFile } | null {
  const of = proc.fget(fd);
  if (!of) return null;
  if (!(of.file instanceof SyncFile)) {
    of.put();
    return null;
  }
  return { file: of, syncFile: of.file };
}

/**
 * `sync_file_get_fence`: a new reference to the fence of the sync_file at `fd`, or null.
 *
 * @kernel sync_file_get_fence
 */
export function syncFileGetFence(proc: UserProcess, fd: number): DmaFence | null {
  const sf = syncFileFdget(proc, fd);
  if (!sf) return null;
  const fence = sf.syncFile.fence.get();
  sf.file.put();
  return fence;
}

/**
 * `sync_file_get_name`: the merge name if one was given, else
 * "<driver>-<timeline><context>-<seqno>" (names as `dma_fence_driver_name`
 * gives them: "detached-driver" / "signaled-timeline" once signalled).
 *
 * @kernel sync_file_get_name
 */
export function syncFileGetName(sf: SyncFile): string {
  if (sf.userName !== '') return sf.userName;
  const f = sf.fence;
  return cName(`${f.driverName()}-${f.timelineName()}${f.context}-${f.seqno}`);
}

/** `sync_file_merge`: a new sync_file on `dma_fence_unwrap_merge(a, b)`; null on OOM. */
function syncFileMerge(k: Kernel, name: string, a: SyncFile, b: SyncFile): SyncFile | null {
  if (!fenceAlloc(k, 128, 'sync_file_alloc')) return null;
  const fence = dmaFenceUnwrapMerge(k, a.fence, b.fence);
  if (!fence) return null;
  const sf = new SyncFile(k, fence);
  markObserved(fence);
  sf.userName = name;
  return sf;
}

function syncFileIoctlMerge(ctx: FileContext, sf: SyncFile, arg: unknown): number {
  const proc = ctx.proc;
  const fd = proc.getUnusedFd();
  if (fd < 0) return fd;
  if (!isUserStruct(arg)) return -Errno.EFAULT;
  const name = readName(arg, 'name');
  const fd2 = readS32(arg, 'fd2');
  const flags = readU32(arg, 'flags');
  const pad = readU32(arg, 'pad');
  if (name === null || fd2 === null || flags === null || pad === null) return -Errno.EFAULT;
  if (flags || pad) return -Errno.EINVAL;
  const other = syncFileFdget(proc, fd2);
  if (!other) return -Errno.ENOENT;
  const merged = syncFileMerge(ctx.kernel, name, sf, other.syncFile);
  other.file.put();
  if (!merged) return -Errno.ENOMEM;
  arg.fence = fd;
  proc.fdInstall(fd, new OpenFile(merged));
  return 0;
}

/** `sync_fill_fence_info`. */
function fillFenceInfo(fence: DmaFence): SyncFenceInfo {
  const info: SyncFenceInfo = {
    objName: cName(fence.timelineName()),
    driverName: cName(fence.driverName()),
    status: fence.getStatus(),
    flags: 0,
    timestampNs: 0,
  };
  info.timestampNs = fence.isSignaled() ? fence.timestamp() : 0;
  return info;
}

/**
 * SYNC_IOC_FILE_INFO: the two-call protocol. With `numFences` 0: the file's
 * status, name and the number of leaves. Otherwise `numFences` must be at
 * least that number (-EINVAL) and `syncFenceInfo` an array to fill (else
 * -EFAULT): one entry per leaf with its status and signal time, and
 * `status` becomes the first leaf status that is <= 0 (else 1).
 */
function syncFileIoctlFenceInfo(sf: SyncFile, arg: unknown): number {
  if (!isUserStruct(arg)) return -Errno.EFAULT;
  const flags = readU32(arg, 'flags');
  const pad = readU32(arg, 'pad');
  const userNum = readU32(arg, 'numFences');
  if (flags === null || pad === null || userNum === null) return -Errno.EFAULT;
  if (flags || pad) return -Errno.EINVAL;
  let numFences = 0;
  for (const _f of dmaFenceUnwrapForEach(sf.fence)) numFences++;
  let status: number;
  if (!userNum) {
    status = sf.fence.getStatus();
  } else {
    status = 1;
    if (userNum < numFences) return -Errno.EINVAL;
    if (!fenceAlloc(sf.kernel, numFences * 80, 'sync_file_ioctl_fence_info')) return -Errno.ENOMEM;
    const infos: SyncFenceInfo[] = [];
    for (const f of dmaFenceUnwrapForEach(sf.fence)) {
      const info = fillFenceInfo(f);
      infos.push(info);
      status = status <= 0 ? status : info.status;
    }
    const out = arg.syncFenceInfo;
    if (!Array.isArray(out)) return -Errno.EFAULT;
    for (let i = 0; i < infos.length; i++) out[i] = infos[i];
    numFences = infos.length;
  }
  arg.status = status;
  arg.name = syncFileGetName(sf);
  arg.numFences = numFences;
  return 0;
}

/** SYNC_IOC_SET_DEADLINE: `pad` must be 0 (-EINVAL); forwards `dma_fence_set_deadline`. */
function syncFileIoctlSetDeadline(sf: SyncFile, arg: unknown): number {
  if (!isUserStruct(arg)) return -Errno.EFAULT;
  const deadline = readU64(arg, 'deadlineNs');
  const pad = readU64(arg, 'pad');
  if (deadline === null || pad === null) return -Errno.EFAULT;
  if (pad) return -Errno.EINVAL;
  sf.fence.setDeadline(deadline);
  return 0;
}
