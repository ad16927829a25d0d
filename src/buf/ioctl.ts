import { Errno } from '../kernel/index.ts';
import {
  dmaFenceGetStub,
  dmaFenceUnwrapForEach,
  isUserStruct,
  OpenFile,
  readS32,
  readU32,
  readU64,
  syncFileCreate,
  syncFileGetFence,
} from '../fence/index.ts';
import type { FileContext } from '../fence/index.ts';
import { DmaResvUsage, dmaResvUsageRw } from '../resv/index.ts';
import { DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE } from '../pci/index.ts';
import type { DmaDataDirection } from '../pci/index.ts';
import type { DmaBuf } from './forward.ts';

/** `DMA_BUF_SYNC_*` flags (uapi/linux/dma-buf.h). */
export const DMA_BUF_SYNC_READ = 1 << 0;
export const DMA_BUF_SYNC_WRITE = 2 << 0;
export const DMA_BUF_SYNC_RW = DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE;
export const DMA_BUF_SYNC_START = 0 << 2;
export const DMA_BUF_SYNC_END = 1 << 2;
export const DMA_BUF_SYNC_VALID_FLAGS_MASK = DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END;
/** `DMA_BUF_NAME_LEN`, including the NUL. */
export const DMA_BUF_NAME_LEN = 32;

/**
 * The ioctls of a dma-buf fd (magic 'b'), by request name as
 * `UserProcess.ioctl` passes them:
 * - `DMA_BUF_IOCTL_SYNC` `{ flags }`: begin/end CPU access.
 * - `DMA_BUF_SET_NAME` (also `_A`, `_B`) with a string argument.
 * - `DMA_BUF_IOCTL_EXPORT_SYNC_FILE` `{ flags, fd }`: writes `fd`.
 * - `DMA_BUF_IOCTL_IMPORT_SYNC_FILE` `{ flags, fd }`.
 * Anything else is `-ENOTTY`; a malformed argument `-EFAULT`.
 *
 * @kernel dma_buf_ioctl
 */
export async function dmaBufIoctl(
  ctx: FileContext,
  dmabuf: DmaBuf,
  request: string,
  arg: unknown,
): Promise<number> {
  switch (request) {
    case 'DMA_BUF_IOCTL_SYNC':
      return dmaBufIoctlSync(dmabuf, arg);
    case 'DMA_BUF_SET_NAME':
    case 'DMA_BUF_SET_NAME_A':
    case 'DMA_BUF_SET_NAME_B':
      return dmaBufSetName(dmabuf, arg);
    case 'DMA_BUF_IOCTL_EXPORT_SYNC_FILE':
      return dmaBufExportSyncFile(ctx, dmabuf, arg);
    case 'DMA_BUF_IOCTL_IMPORT_SYNC_FILE':
      return dmaBufImportSyncFile(ctx, dmabuf, arg);
    default:
      return -Errno.ENOTTY;
  }
}

async function dmaBufIoctlSync(dmabuf: DmaBuf, arg: unknown): Promise<number> {
  if (!isUserStruct(arg)) return -Errno.EFAULT;
  const flags = readU64(arg, 'flags');
  if (flags === null) return -Errno.EFAULT;
  if (flags & ~DMA_BUF_SYNC_VALID_FLAGS_MASK) return -Errno.EINVAL;
  let dir: DmaDataDirection;
  switch (flags & DMA_BUF_SYNC_RW) {
    case DMA_BUF_SYNC_READ:
      dir = DMA_FROM_DEVICE;
      break;
    case DMA_BUF_SYNC_WRITE:
      dir = DMA_TO_DEVICE;
      break;
    case DMA_BUF_SYNC_RW:
      dir = DMA_BIDIRECTIONAL;
      break;
    default:
      return -Errno.EINVAL;
  }
  return flags & DMA_BUF_SYNC_END ? dmabuf.endCpuAccess(dir) : dmabuf.beginCpuAccess(dir);
}

/**
 * `dma_buf_set_name`: the name (at most 31 characters; longer `-EINVAL`, a
 * non-string `-EFAULT`) replaces the old one, even with attachments.
 *
 * @kernel dma_buf_set_name
 */
export function dmaBufSetName(dmabuf: DmaBuf, arg: unknown): number {
  if (typeof arg !== 'string') return -Errno.EFAULT;
  if (arg.length >= DMA_BUF_NAME_LEN) return -Errno.EINVAL;
  dmabuf.name = arg;
  return 0;
}

function syncFlags(arg: unknown): number {
  if (!isUserStruct(arg)) return -Errno.EFAULT;
  const flags = readU32(arg, 'flags');
  if (flags === null || readS32(arg, 'fd') === null) return -Errno.EFAULT;
  if (flags & ~DMA_BUF_SYNC_RW) return -Errno.EINVAL;
  if ((flags & DMA_BUF_SYNC_RW) === 0) return -Errno.EINVAL;
  return flags;
}

/**
 * `DMA_BUF_IOCTL_EXPORT_SYNC_FILE`: a snapshot of the implicit fences as a
 * new sync_file fd (O_CLOEXEC) written to `arg.fd`. WRITE in `flags` means
 * "I will write": the fence covers readers and writers (usage READ); READ
 * alone covers writers only (usage WRITE). No fence → the signalled stub.
 * Fences added later are not included.
 *
 * @kernel dma_buf_export_sync_file
 */
export function dmaBufExportSyncFile(ctx: FileContext, dmabuf: DmaBuf, arg: unknown): number {
  const flags = syncFlags(arg);
  if (flags < 0) return flags;
  const proc = ctx.proc;
  const fd = proc.getUnusedFd();
  if (fd < 0) return fd;
  const usage = dmaResvUsageRw((flags & DMA_BUF_SYNC_WRITE) !== 0);
  let fence = dmabuf.resv.getSingleton(usage);
  if (typeof fence === 'number') return fence;
  fence ??= dmaFenceGetStub(ctx.kernel);
  const syncFile = syncFileCreate(ctx.kernel, fence);
  fence.put();
  if (!syncFile) return -Errno.ENOMEM;
  (arg as { fd: number }).fd = fd;
  proc.fdInstall(fd, new OpenFile(syncFile));
  return 0;
}

/**
 * `DMA_BUF_IOCTL_IMPORT_SYNC_FILE`: add the fences of the sync_file at
 * `arg.fd` (`-EINVAL` if it is not one) to the buffer's resv, each leaf
 * separately, with usage WRITE if `flags` has WRITE else READ: lock,
 * reserve that many slots (its error is returned), add, unlock.
 *
 * @kernel dma_buf_import_sync_file
 */
export async function dmaBufImportSyncFile(
  ctx: FileContext,
  dmabuf: DmaBuf,
  arg: unknown,
): Promise<number> {
  const flags = syncFlags(arg);
  if (flags < 0) return flags;
  const fence = syncFileGetFence(ctx.proc, (arg as { fd: number }).fd);
  if (!fence) return -Errno.EINVAL;
  const usage = flags & DMA_BUF_SYNC_WRITE ? DmaResvUsage.WRITE : DmaResvUsage.READ;
  let num = 0;
  for (const _f of dmaFenceUnwrapForEach(fence)) num++;
  let ret = 0;
  if (num > 0) {
    const resv = dmabuf.resv;
    await resv.lock(null);
    ret = resv.reserveFences(num);
    if (!ret) for (const f of dmaFenceUnwrapForEach(fence)) resv.addFence(f, usage);
    resv.unlock();
  }
  fence.put();
  return ret;
}
