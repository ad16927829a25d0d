import { Errno, GFP_KERNEL, Kref, kzalloc, U64_MAX, WaitQueueHead, wholeArg } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import { OpenFile, PollWaitQueue } from '../fence/index.ts';
import type { UserProcess } from '../fence/index.ts';
import { DmaResv } from '../resv/index.ts';
import type { DmaDataDirection, Device } from '../pci/index.ts';
import type { Awaitable } from '../kernel/index.ts';
import type { DmaBufAttachOps, DmaBufAttachment } from './attachment.ts';
import {
  dmaBufAttach,
  dmaBufDetach,
  dmaBufDynamicAttach,
  dmaBufMappingAttach,
  dmaBufMoveNotify,
} from './attach.ts';
import {
  dmaBufBeginCpuAccess,
  dmaBufEndCpuAccess,
  dmaBufMmap,
  dmaBufVmap,
  dmaBufVmapUnlocked,
  dmaBufVunmap,
  dmaBufVunmapUnlocked,
} from './cpu-access.ts';
import type { IosysMap } from './cpu-access.ts';
import { DmaBufFile } from './file.ts';
import { DmaBufPollCb } from './poll.ts';
import type { Vma } from './heaps/vma.ts';
import type { DmaBufImpMatch, DmaBufMatchArgs } from './mapping-type.ts';
import { dmaBufRevoke, dmaBufUnrevoke } from './revoke.ts';
import type { RevokeOptions } from './revoke.ts';
import type { SgTable } from './sg-table.ts';
import './events.ts';

declare module './forward.ts' {
  /** The forward-declared `DmaBuf` of the files below this one is this class. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging: adds DmaBuf's members
  interface DmaBuf extends DmaBufClass {}
}
/** The class, under a name the merged declaration above can extend. */
type DmaBufClass = DmaBuf;

/**
 * `struct dma_buf_ops`: what an exporter implements. `release` is
 * mandatory, and either the legacy `mapDmaBuf`/`unmapDmaBuf` pair (offered to
 * importers as the compatibility scatter-table entry) or `matchMapping`
 * (mapping types) but not both. `pin`/`unpin` come together and make the
 * exporter dynamic.
 *
 * Called with the resv lock held (must not take it): `pin`, `unpin`,
 * `mapDmaBuf`, `unmapDmaBuf`, `vmap`, `vunmap`. Called unlocked (may take
 * it): `attach`, `detach`, `release`, `beginCpuAccess`, `endCpuAccess`,
 * `mmap`. `release` is synchronous in the model: it runs at the last put
 * (the kernel defers the final fput to task work), so it must not sleep.
 *
 * @kernel struct dma_buf_ops (include/linux/dma-buf.h)
 */
export interface DmaBufOps {
  attach?(dmabuf: DmaBuf, attach: DmaBufAttachment): Awaitable<number>;
  detach?(dmabuf: DmaBuf, attach: DmaBufAttachment): Awaitable<void>;
  pin?(attach: DmaBufAttachment): Awaitable<number>;
  unpin?(attach: DmaBufAttachment): Awaitable<void>;
  mapDmaBuf?(attach: DmaBufAttachment, dir: DmaDataDirection): Awaitable<SgTable | number | null>;
  unmapDmaBuf?(attach: DmaBufAttachment, sgt: SgTable, dir: DmaDataDirection): Awaitable<void>;
  /**
   * Mapping types: build the exporter's list (priority order) and call
   * `dmaBufMatchMapping(args, list)`; return its result. Unlocked.
   */
  matchMapping?(args: DmaBufMatchArgs): number;
  release(dmabuf: DmaBuf): void;
  beginCpuAccess?(dmabuf: DmaBuf, dir: DmaDataDirection): Awaitable<number>;
  endCpuAccess?(dmabuf: DmaBuf, dir: DmaDataDirection): Awaitable<number>;
  mmap?(dmabuf: DmaBuf, vma: Vma): Awaitable<number>;
  vmap?(dmabuf: DmaBuf): Awaitable<IosysMap | number>;
  vunmap?(dmabuf: DmaBuf, map: IosysMap): Awaitable<void>;
}

/**
 * `struct dma_buf_export_info` (`DEFINE_DMA_BUF_EXPORT_INFO`).
 *
 * @kernel struct dma_buf_export_info
 */
export interface DmaBufExportInfo {
  expName?: string;
  ops: DmaBufOps;
  size: number;
  /** File flags; only the access mode and O_NONBLOCK are kept. */
  flags?: number;
  /** Share this reservation object; null/absent embeds a new one. */
  resv?: DmaResv | null;
  priv: unknown;
}

/** `O_ACCMODE | O_NONBLOCK`, `O_RDWR`, `O_CLOEXEC`. */
export const O_ACCMODE = 0o3;
export const O_RDWR = 0o2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

const bufIds = new WeakMap<Kernel, number>();

/**
 * `struct dma_buf`: a shared buffer. Its reference count is its file's:
 * every fd and every `get()` holds one; the last `put()` releases it (the
 * exporter's `release`, then the embedded resv). While revoked (the model's
 * generic form of VFIO's revoke), attach and map fail with `-ENODEV`.
 *
 * @kernel struct dma_buf (include/linux/dma-buf.h), drivers/dma-buf/dma-buf.c
 */
export class DmaBuf {
  readonly id: number;
  /** `exp_name`. */
  readonly expName: string;
  /** User-set name (`DMA_BUF_SET_NAME`), at most 31 characters. */
  name: string | null = null;
  /** `dmabuf->resv`: embedded or the exporter's. */
  readonly resv: DmaResv;
  /** The resv was created for this buffer (finalized with it). */
  readonly ownsResv: boolean;
  /** `attachments`, protected by the resv lock. */
  readonly attachments: DmaBufAttachment[] = [];
  /** `vmapping_counter` and the cached `vmap_ptr`. */
  vmappingCounter = 0;
  vmapPtr: IosysMap | null = null;
  /** `poll` wait queue and the two callback slots. */
  readonly poll = new PollWaitQueue();
  readonly cbIn: DmaBufPollCb;
  readonly cbOut: DmaBufPollCb;
  /** The exporter revoked access (no attach, no map) until un-revoked. */
  revoked = false;
  /** Revoked for good (device closed): un-revoke is refused. */
  revokedPermanently = false;
  /** Mappings invalidated by a revoke and not yet unmapped. */
  revokePending = 0;
  /** Woken when a revoked mapping is unmapped (the exporter's revoke waits on it). */
  readonly unmapWq: WaitQueueHead;
  /** The file behind every fd of this buffer (its count is the buffer's refcount). */
  readonly file: DmaBufOpenFile;
  /** Set once released. */
  released = false;

  /** @internal use `dmaBufExport`. */
  constructor(
    readonly kernel: Kernel,
    readonly ops: DmaBufOps,
    readonly size: number,
    readonly priv: unknown,
    expName: string,
    resv: DmaResv | null,
    /** `file->f_flags` (access mode and O_NONBLOCK). */
    readonly fileFlags: number,
  ) {
    const id = (bufIds.get(kernel) ?? 0) + 1;
    bufIds.set(kernel, id);
    this.id = id;
    this.expName = expName;
    this.ownsResv = resv === null;
    this.resv = resv ?? new DmaResv(kernel, `dmabuf#${id}`);
    this.unmapWq = new WaitQueueHead(kernel, `dma_buf#${id} unmap`);
    this.cbIn = new DmaBufPollCb(this);
    this.cbOut = new DmaBufPollCb(this);
    this.file = new DmaBufOpenFile(new DmaBufFile(this), new Kref(kernel, `dma_buf#${id}`));
  }

  /** The reference count (`file_count(dmabuf->file)`). */
  get refcount(): number {
    return this.file.count;
  }

  /** `dma_buf_is_dynamic`: the exporter implements `pin`. */
  get isDynamic(): boolean {
    return typeof this.ops.pin === 'function';
  }

  /** `get_dma_buf`: one more reference. */
  get(): this {
    this.file.get();
    return this;
  }

  /** `dma_buf_put`: drop a reference; the last one releases the buffer. Any context. */
  put(): void {
    this.file.put();
  }

  /** `dma_buf_fd`: install a new fd for this buffer in `proc` (taking over one reference), or `-EMFILE`. */
  fd(proc: UserProcess, _flags = O_CLOEXEC): number {
    const fd = proc.getUnusedFd();
    if (fd < 0) return fd;
    proc.fdInstall(fd, this.file);
    return fd;
  }

  /** `dma_buf_attach`: a static attachment (no importer ops). Unlocked; sleeps. */
  attach(dev: Device): Promise<DmaBufAttachment | number> {
    return dmaBufAttach(this, dev);
  }

  /** `dma_buf_dynamic_attach`. Unlocked; sleeps. */
  dynamicAttach(
    dev: Device,
    importerOps: DmaBufAttachOps | null,
    importerPriv: unknown = null,
  ): Promise<DmaBufAttachment | number> {
    return dmaBufDynamicAttach(this, dev, importerOps, importerPriv);
  }

  /** `dma_buf_mapping_attach` (mapping types): attach with the importer's list of accepted types. */
  mappingAttach(
    impMatches: readonly DmaBufImpMatch[],
    importerOps: DmaBufAttachOps | null,
    importerPriv: unknown = null,
  ): Promise<DmaBufAttachment | number> {
    return dmaBufMappingAttach(this, impMatches, importerOps, importerPriv);
  }

  /** `dma_buf_detach`. Unlocked; sleeps. */
  detach(attach: DmaBufAttachment): Promise<void> {
    return dmaBufDetach(this, attach);
  }

  /** `dma_buf_move_notify` / `dma_buf_invalidate_mappings`: exporter, resv lock held. */
  moveNotify(): Promise<void> {
    return dmaBufMoveNotify(this);
  }

  /** `dma_buf_begin_cpu_access`. Unlocked; sleeps. */
  beginCpuAccess(dir: DmaDataDirection): Promise<number> {
    return dmaBufBeginCpuAccess(this, dir);
  }

  /** `dma_buf_end_cpu_access`. */
  endCpuAccess(dir: DmaDataDirection): Promise<number> {
    return dmaBufEndCpuAccess(this, dir);
  }

  /** `dma_buf_vmap` (resv lock held). */
  vmap(): Promise<IosysMap | number> {
    return dmaBufVmap(this);
  }

  /** `dma_buf_vunmap` (resv lock held). */
  vunmap(map: IosysMap): Promise<void> {
    return dmaBufVunmap(this, map);
  }

  /** `dma_buf_vmap_unlocked`. */
  vmapUnlocked(): Promise<IosysMap | number> {
    return dmaBufVmapUnlocked(this);
  }

  /** `dma_buf_vunmap_unlocked`. */
  vunmapUnlocked(map: IosysMap): Promise<void> {
    return dmaBufVunmapUnlocked(this, map);
  }

  /** `dma_buf_mmap`. Unlocked. */
  mmap(vma: Vma, pgoff: number): Promise<number> {
    return dmaBufMmap(this, vma, pgoff);
  }

  /** Exporter revoke (see `dmaBufRevoke`). */
  revoke(opts?: RevokeOptions): Promise<number> {
    return dmaBufRevoke(this, opts);
  }

  /** Exporter un-revoke (see `dmaBufUnrevoke`). */
  unrevoke(): Promise<number> {
    return dmaBufUnrevoke(this);
  }

  toString(): string {
    return `dma_buf#${this.id} (${this.expName}, ${this.size} bytes)`;
  }
}

/**
 * The dma-buf's `struct file`: its count is the buffer's refcount, mirrored
 * in a `Kref` so the lifetime checker sees gets, puts and uses after free.
 *
 * @kernel struct dma_buf.file (get_dma_buf / dma_buf_put are get_file / fput on it)
 */
export class DmaBufOpenFile extends OpenFile {
  constructor(
    file: DmaBufFile,
    readonly kref: Kref,
  ) {
    super(file);
  }

  override get(): this {
    if (this.kref.released) {
      this.kref.get();
      return this;
    }
    this.kref.get();
    return super.get();
  }

  override put(): void {
    if (this.kref.released) {
      this.kref.put();
      return;
    }
    this.kref.put();
    super.put();
  }
}

/**
 * `dma_buf_export`: wrap the exporter's buffer in a new `DmaBuf` holding one
 * reference. Missing `priv`, `ops`, `release`, or neither map path (or both
 * `matchMapping` and `mapDmaBuf`), or exactly one of `pin`/`unpin`: WARN and
 * `-EINVAL`. `-ENOMEM` when the allocation fails (GFP_KERNEL). Process context.
 *
 * @kernel dma_buf_export
 */
export function dmaBufExport(k: Kernel, info: DmaBufExportInfo): DmaBuf | number {
  const ops = info.ops;
  const legacy = typeof ops?.mapDmaBuf === 'function' && typeof ops.unmapDmaBuf === 'function';
  const typed = typeof ops?.matchMapping === 'function';
  let why: string | null = null;
  if (info.priv === undefined || info.priv === null || !ops || typeof ops.release !== 'function')
    why = 'priv, ops and ops.release are mandatory';
  else if (legacy === typed)
    why = typed
      ? 'matchMapping and mapDmaBuf/unmapDmaBuf are exclusive'
      : 'mapDmaBuf and unmapDmaBuf (or matchMapping) are mandatory';
  else if (!ops.pin !== !ops.unpin) why = 'pin and unpin come together';
  if (why) {
    k.splat({
      rule: 'dma_buf.export_invalid',
      severity: 'warn',
      headline: `WARNING: dma_buf_export: invalid export info`,
      body: why,
    });
    return -Errno.EINVAL;
  }
  wholeArg('dmaBufExport(k, info)', 'info.size', info.size, 'of bytes (size_t)', U64_MAX);
  if (!kzalloc(k, 512, GFP_KERNEL, 'dma_buf_export')) return -Errno.ENOMEM;
  const flags = (info.flags ?? O_RDWR) & (O_ACCMODE | O_NONBLOCK);
  const dmabuf = new DmaBuf(
    k,
    ops,
    info.size,
    info.priv,
    info.expName ?? 'dmabuf',
    info.resv ?? null,
    flags,
  );
  if (k.events.active)
    k.emit('dmabuf-export', { dmabuf: dmabuf.id, exporter: dmabuf.expName, size: dmabuf.size });
  return dmabuf;
}

/**
 * `dma_buf_get`: the buffer behind `fd` in `proc` with a new reference;
 * `-EBADF` for a bad fd, `-EINVAL` if it is not a dma-buf.
 *
 * @kernel dma_buf_get
 */
export function dmaBufGet(proc: UserProcess, fd: number): DmaBuf | number {
  const of = proc.fget(fd);
  if (!of) return -Errno.EBADF;
  if (!(of.file instanceof DmaBufFile)) {
    of.put();
    return -Errno.EINVAL;
  }
  return of.file.dmabuf;
}

/** `is_dma_buf_file` for an open file. @kernel is_dma_buf_file */
export function isDmaBufFile(of: OpenFile): boolean {
  return of.file instanceof DmaBufFile;
}
