import { Errno } from '../kernel/index.ts';
import { DMA_ATTR_SKIP_CPU_SYNC, DMA_BIDIRECTIONAL } from '../pci/index.ts';
import {
  dmaBufExport,
  dmaBufGet,
  dmaMapSgtable,
  dmaUnmapSgtable,
  O_CLOEXEC,
  O_RDWR,
  sgFreeTable,
} from '../buf/index.ts';
import type { DmaBuf, DmaBufOps, SgTable } from '../buf/index.ts';
import type { UserProcess } from '../fence/index.ts';
import type { DrmDevice } from './drm-device.ts';
import { drmGemHandleCreateTail, drmGemObjectLookup } from './drm-file.ts';
import type { DrmFile } from './drm-file.ts';
import { DrmGemObject } from './gem-object.ts';

function gemOf(dmabuf: DmaBuf): DrmGemObject {
  return dmabuf.priv as DrmGemObject;
}

/**
 * `drm_gem_prime_dmabuf_ops`: the exporter ops of a GEM object's dma-buf.
 * attach pins (`funcs.pin`) and needs `funcs.getSgTable` (`-ENOSYS`
 * otherwise); map DMA-maps the object's table for the importing device;
 * release drops the object reference the export took.
 *
 * @kernel drm_gem_prime_dmabuf_ops, drm_gem_map_attach, drm_gem_map_dma_buf, drm_gem_dmabuf_release (drivers/gpu/drm/drm_prime.c)
 */
export const drmGemPrimeDmabufOps: DmaBufOps = {
  async attach(dmabuf) {
    const obj = gemOf(dmabuf);
    if (!obj.funcs.getSgTable) return -Errno.ENOSYS;
    return obj.funcs.pin ? await obj.funcs.pin(obj) : 0;
  },
  async detach(dmabuf) {
    const obj = gemOf(dmabuf);
    if (obj.funcs.unpin) await obj.funcs.unpin(obj);
  },
  mapDmaBuf(attach, dir) {
    const obj = gemOf(attach.dmabuf);
    if (!obj.funcs.getSgTable || !attach.dev) return -Errno.ENOSYS;
    const sgt = obj.funcs.getSgTable(obj);
    if (typeof sgt === 'number') return sgt;
    const r = dmaMapSgtable(attach.dev, sgt, dir, DMA_ATTR_SKIP_CPU_SYNC);
    if (r) {
      sgFreeTable(sgt);
      return r;
    }
    return sgt;
  },
  unmapDmaBuf(attach, sgt, dir) {
    if (attach.dev) dmaUnmapSgtable(attach.dev, sgt, dir, DMA_ATTR_SKIP_CPU_SYNC);
    sgFreeTable(sgt);
  },
  release(dmabuf) {
    gemOf(dmabuf).put();
  },
  async mmap(dmabuf, vma) {
    const obj = gemOf(dmabuf);
    return obj.funcs.mmap ? await obj.funcs.mmap(obj, vma) : -Errno.ENOSYS;
  },
  async vmap(dmabuf) {
    const obj = gemOf(dmabuf);
    return obj.funcs.vmap ? await obj.funcs.vmap(obj) : -Errno.ENOMEM;
  },
  async vunmap(dmabuf, map) {
    const obj = gemOf(dmabuf);
    if (obj.funcs.vunmap) await obj.funcs.vunmap(obj, map);
  },
};

/**
 * `drm_gem_prime_export`: a dma-buf for `obj` sharing its resv (so implicit
 * fences are the object's), holding a reference on the object.
 *
 * @kernel drm_gem_prime_export, drm_gem_dmabuf_export
 */
export function drmGemPrimeExport(obj: DrmGemObject, flags: number): DmaBuf | number {
  const dmabuf = dmaBufExport(obj.kernel, {
    expName: obj.dev.driver.name,
    ops: drmGemPrimeDmabufOps,
    size: obj.size,
    flags,
    priv: obj,
    resv: obj.resv,
  });
  if (typeof dmabuf === 'number') return dmabuf;
  obj.get();
  return dmabuf;
}

/** `drm_gem_prime_handle_to_dmabuf`: the dma-buf of `handle` (a reference), exporting it the first time. @kernel drm_gem_prime_handle_to_dmabuf */
export async function drmGemPrimeHandleToDmabuf(
  file: DrmFile,
  handle: number,
  flags: number,
): Promise<DmaBuf | number> {
  const dev = file.dev;
  await file.prime.lock.lock();
  try {
    const obj = drmGemObjectLookup(file, handle);
    if (!obj) return -Errno.ENOENT;
    try {
      const known = file.prime.dmabufs.get(handle);
      if (known) return known.get();
      await dev.objectNameLock.lock();
      let dmabuf: DmaBuf | number;
      if (obj.importAttach) {
        // Re-export of an import: hand out the original buffer.
        dmabuf = obj.importAttach.dmabuf.get();
      } else if (obj.dmaBuf) {
        dmabuf = obj.dmaBuf.get();
      } else if (obj.handleCount === 0) {
        dmabuf = -Errno.ENOENT;
      } else {
        // export_and_register_object: the object caches its dma-buf with a reference.
        dmabuf = obj.funcs.export ? obj.funcs.export(obj, flags) : drmGemPrimeExport(obj, flags);
        if (typeof dmabuf !== 'number') {
          obj.dmaBuf = dmabuf;
          dmabuf.get();
        }
      }
      dev.objectNameLock.unlock();
      if (typeof dmabuf !== 'number') file.prime.add(dmabuf, handle);
      return dmabuf;
    } finally {
      obj.put();
    }
  } finally {
    file.prime.lock.unlock();
  }
}

/**
 * `drm_gem_prime_handle_to_fd`: PRIME export of `handle` as a dma-buf fd in
 * `proc`. `-ENOENT` for an unknown handle. Process context.
 *
 * @kernel drm_gem_prime_handle_to_fd
 */
export async function drmGemPrimeHandleToFd(
  file: DrmFile,
  proc: UserProcess,
  handle: number,
  flags: number = O_CLOEXEC | O_RDWR,
): Promise<number> {
  const dmabuf = await drmGemPrimeHandleToDmabuf(file, handle, flags);
  if (typeof dmabuf === 'number') return dmabuf;
  const fd = dmabuf.fd(proc, flags);
  if (fd < 0) dmabuf.put();
  return fd;
}

/**
 * `drm_gem_prime_import_dev`: a GEM object for `dmabuf`. If the buffer is
 * this device's own PRIME export, the original object is returned with a
 * new reference (self-import: no attachment). Otherwise attach
 * `attachDev`, map the attachment (unlocked variant, bidirectional) and wrap
 * it with the driver's `gemPrimeImportSgTable`; the object shares the
 * buffer's resv. Process context.
 *
 * @kernel drm_gem_prime_import_dev
 */
export async function drmGemPrimeImportDev(
  dev: DrmDevice,
  dmabuf: DmaBuf,
  attachDev = dev.dev,
): Promise<DrmGemObject | number> {
  if (dmabuf.ops === drmGemPrimeDmabufOps) {
    const obj = gemOf(dmabuf);
    if (obj.dev === dev) return obj.get();
  }
  const attach = await dmabuf.attach(attachDev);
  if (typeof attach === 'number') return attach;
  dmabuf.get();
  const sgt: SgTable | number = await attach.mapAttachmentUnlocked(DMA_BIDIRECTIONAL);
  if (typeof sgt === 'number') {
    await dmabuf.detach(attach);
    dmabuf.put();
    return sgt;
  }
  const made = dev.driver.gemPrimeImportSgTable
    ? dev.driver.gemPrimeImportSgTable(dev, attach, sgt)
    : new DrmGemObject(dev, dmabuf.size, {}, { resv: dmabuf.resv });
  if (typeof made === 'number') {
    await attach.unmapAttachmentUnlocked(sgt, DMA_BIDIRECTIONAL);
    await dmabuf.detach(attach);
    dmabuf.put();
    return made;
  }
  if (made.resv !== dmabuf.resv) {
    dev.kernel.splat({
      rule: 'gem.import_resv_mismatch',
      severity: 'warn',
      headline: "WARNING: imported GEM object does not use the dma-buf's reservation object",
      body: `${made.toString()}: create imported objects with { resv: dmabuf.resv } so implicit fences are shared with the exporter`,
    });
  }
  made.importAttach = attach;
  made.importSgt = sgt;
  return made;
}

/** `drm_gem_prime_import`: `drmGemPrimeImportDev` with the DRM device's own DMA device. @kernel drm_gem_prime_import */
export function drmGemPrimeImport(dev: DrmDevice, dmabuf: DmaBuf): Promise<DrmGemObject | number> {
  return drmGemPrimeImportDev(dev, dmabuf, dev.dev);
}

/**
 * `drm_gem_prime_fd_to_handle`: PRIME import of the dma-buf fd `fd` of
 * `proc` into `file`. A buffer this file already knows gives its existing
 * handle; importing your own export gives back the same object. Returns the
 * handle or a negative errno. Process context.
 *
 * @kernel drm_gem_prime_fd_to_handle
 */
export async function drmGemPrimeFdToHandle(
  file: DrmFile,
  proc: UserProcess,
  fd: number,
): Promise<number> {
  const dev = file.dev;
  const dmabuf = dmaBufGet(proc, fd);
  if (typeof dmabuf === 'number') return dmabuf;
  await file.prime.lock.lock();
  try {
    const known = file.prime.handles.get(dmabuf);
    if (known !== undefined) return known;
    await dev.objectNameLock.lock();
    const obj = dev.driver.gemPrimeImport
      ? await dev.driver.gemPrimeImport(dev, dmabuf)
      : await drmGemPrimeImport(dev, dmabuf);
    if (typeof obj === 'number') {
      dev.objectNameLock.unlock();
      return obj;
    }
    if (obj.dmaBuf) {
      if (obj.dmaBuf !== dmabuf) {
        dev.kernel.splat({
          rule: 'gem.prime_dma_buf_mismatch',
          severity: 'warn',
          headline: 'WARNING: drm_gem_prime_fd_to_handle: WARN_ON(obj->dma_buf != dma_buf)',
          body: obj.toString(),
        });
      }
    } else {
      obj.dmaBuf = dmabuf.get();
    }
    const handle = drmGemHandleCreateTail(file, obj);
    obj.put();
    if (handle < 0) return handle;
    file.prime.add(dmabuf, handle);
    return handle;
  } finally {
    file.prime.lock.unlock();
    dmabuf.put();
  }
}
