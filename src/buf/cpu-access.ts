import { Errno, MAX_SCHEDULE_TIMEOUT } from '../kernel/index.ts';
import { dmaResvUsageRw } from '../resv/index.ts';
import { DMA_BIDIRECTIONAL, DMA_TO_DEVICE, PAGE_SHIFT } from '../pci/index.ts';
import type { DmaDataDirection } from '../pci/index.ts';
import type { DmaBuf } from './forward.ts';
import type { Vma } from './heaps/vma.ts';

/**
 * `struct iosys_map`: a kernel virtual mapping of the buffer (system memory
 * or I/O memory). `vaddr` is a model address; `area` is the exporter's
 * handle for it (e.g. a `VmapArea`).
 *
 * @kernel struct iosys_map (include/linux/iosys-map.h)
 */
export interface IosysMap {
  readonly vaddr: number;
  readonly isIomem: boolean;
  readonly area?: unknown;
}

/**
 * `dma_buf_begin_cpu_access`: the caller must not hold the resv lock (a
 * lockdep "might lock" annotation records it); the exporter's hook first,
 * then an interruptible, unlimited wait for the implicit fences: a CPU write
 * (TO_DEVICE, BIDIRECTIONAL) waits for readers and writers (usage READ), a
 * read (FROM_DEVICE) only for writers (usage WRITE). 0 or a negative errno
 * (`-ERESTARTSYS` on a signal). Process context; sleeps.
 *
 * @kernel dma_buf_begin_cpu_access, __dma_buf_begin_cpu_access
 */
export async function dmaBufBeginCpuAccess(dmabuf: DmaBuf, dir: DmaDataDirection): Promise<number> {
  const k = dmabuf.kernel;
  k.mightSleep('dma_buf_begin_cpu_access');
  // might_lock(&dmabuf->resv->lock.base)
  const dep = dmabuf.resv.wwLock.dep;
  k.lockAcquire(dep);
  k.lockRelease(dep);
  let ret = 0;
  if (dmabuf.ops.beginCpuAccess) ret = await dmabuf.ops.beginCpuAccess(dmabuf, dir);
  if (ret) return ret;
  const write = dir === DMA_BIDIRECTIONAL || dir === DMA_TO_DEVICE;
  const r = await dmabuf.resv.waitTimeout(dmaResvUsageRw(write), true, MAX_SCHEDULE_TIMEOUT);
  return r < 0 ? r : 0;
}

/** `dma_buf_end_cpu_access`: the exporter's hook only. @kernel dma_buf_end_cpu_access */
export async function dmaBufEndCpuAccess(dmabuf: DmaBuf, dir: DmaDataDirection): Promise<number> {
  dmabuf.kernel.mightSleep('dma_buf_end_cpu_access');
  return dmabuf.ops.endCpuAccess ? await dmabuf.ops.endCpuAccess(dmabuf, dir) : 0;
}

const warnedVmap = new WeakSet<DmaBuf>();

/**
 * `dma_buf_vmap`: resv lock held. `-EINVAL` without an exporter vmap;
 * counted: the first call maps (the exporter's error is returned with a
 * one-time WARN), later ones return the cached mapping.
 *
 * @kernel dma_buf_vmap
 */
export async function dmaBufVmap(dmabuf: DmaBuf): Promise<IosysMap | number> {
  const k = dmabuf.kernel;
  dmabuf.resv.assertHeld('dma_buf_vmap');
  if (!dmabuf.ops.vmap) return -Errno.EINVAL;
  if (dmabuf.vmappingCounter) {
    dmabuf.vmappingCounter++;
    return dmabuf.vmapPtr!;
  }
  const r = await dmabuf.ops.vmap(dmabuf);
  if (typeof r === 'number') {
    if (!warnedVmap.has(dmabuf)) {
      warnedVmap.add(dmabuf);
      k.splat({
        rule: 'dma_buf.vmap_failed',
        severity: 'warn',
        headline: `WARNING: dma_buf_vmap: WARN_ON_ONCE(ret) (${r})`,
        body: `${dmabuf.toString()}: the exporter's vmap failed`,
      });
    }
    return r;
  }
  dmabuf.vmapPtr = r;
  dmabuf.vmappingCounter = 1;
  return r;
}

/**
 * `dma_buf_vunmap`: resv lock held. BUG (reported) if `map` is not the
 * cached mapping or nothing is mapped; the last unmap calls the exporter.
 *
 * @kernel dma_buf_vunmap
 */
export async function dmaBufVunmap(dmabuf: DmaBuf, map: IosysMap): Promise<void> {
  const k = dmabuf.kernel;
  dmabuf.resv.assertHeld('dma_buf_vunmap');
  if (dmabuf.vmappingCounter === 0 || dmabuf.vmapPtr !== map) {
    k.splat({
      rule: 'dma_buf.vunmap_mismatch',
      severity: 'bug',
      headline:
        'kernel BUG at drivers/dma-buf/dma-buf.c: dma_buf_vunmap: BUG_ON(!iosys_map_is_equal(&dmabuf->vmap_ptr, map) || !dmabuf->vmapping_counter)',
      body: `${dmabuf.toString()}: vunmap of a mapping that is not the buffer's current vmap`,
    });
    return;
  }
  if (--dmabuf.vmappingCounter === 0) {
    if (dmabuf.ops.vunmap) await dmabuf.ops.vunmap(dmabuf, map);
    dmabuf.vmapPtr = null;
  }
}

/** `dma_buf_vmap_unlocked`: takes the resv lock around `dmaBufVmap`. @kernel dma_buf_vmap_unlocked */
export async function dmaBufVmapUnlocked(dmabuf: DmaBuf): Promise<IosysMap | number> {
  await dmabuf.resv.lock(null);
  try {
    return await dmaBufVmap(dmabuf);
  } finally {
    dmabuf.resv.unlock();
  }
}

/** `dma_buf_vunmap_unlocked`. @kernel dma_buf_vunmap_unlocked */
export async function dmaBufVunmapUnlocked(dmabuf: DmaBuf, map: IosysMap): Promise<void> {
  await dmabuf.resv.lock(null);
  try {
    await dmaBufVunmap(dmabuf, map);
  } finally {
    dmabuf.resv.unlock();
  }
}

/**
 * `dma_buf_mmap`: `-EINVAL` without an exporter mmap or when `pgoff` plus
 * the VMA's pages run past the buffer, `-EOVERFLOW` when they overflow;
 * else the VMA is pointed at the buffer (`vm_pgoff = pgoff`) and the
 * exporter maps it. Unlocked; process context.
 *
 * @kernel dma_buf_mmap
 */
export async function dmaBufMmap(dmabuf: DmaBuf, vma: Vma, pgoff: number): Promise<number> {
  if (!dmabuf.ops.mmap) return -Errno.EINVAL;
  if (!Number.isSafeInteger(pgoff + vma.pages)) return -Errno.EOVERFLOW;
  if (pgoff + vma.pages > Math.floor(dmabuf.size / 2 ** PAGE_SHIFT)) return -Errno.EINVAL;
  vma.pgoff = pgoff;
  return await dmabuf.ops.mmap(dmabuf, vma);
}
