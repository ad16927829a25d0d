import { Errno, Kernel } from '../kernel/index.ts';
import type { UserProcess } from '../fence/index.ts';
import type { DmaBufAttachment } from './attachment.ts';
import { dmaBufExport } from './dma-buf.ts';
import type { DmaBuf, DmaBufOps } from './dma-buf.ts';
import { DMA_HEAP_DEFAULT_FD_FLAGS, systemHeapOf } from './heaps/system-heap.ts';
import type { SystemHeap } from './heaps/system-heap.ts';
import type { SystemHeapAttachment, SystemHeapBuffer } from './heaps/system-heap-buffer.ts';
import type { VmapArea } from './heaps/vma.ts';

function heapBuf(dmabuf: DmaBuf): SystemHeapBuffer {
  return dmabuf.priv as SystemHeapBuffer;
}

function heapAttach(attach: DmaBufAttachment): SystemHeapAttachment {
  return attach.priv as SystemHeapAttachment;
}

/**
 * `system_heap_buf_ops`: the system heap as a dma-buf exporter (a legacy,
 * static exporter: no pin, no mapping types, so importers reach it through
 * the compatibility scatter-table entry). Each attachment gets its own copy
 * of the buffer's table, mapped for the importing device at map time.
 *
 * @kernel system_heap_buf_ops (drivers/dma-buf/heaps/system_heap.c)
 */
export const systemHeapBufOps: DmaBufOps = {
  async attach(dmabuf, attach) {
    if (!attach.dev) return -Errno.EINVAL;
    const a = await heapBuf(dmabuf).attach(attach.dev);
    if (typeof a === 'number') return a;
    attach.priv = a;
    return 0;
  },
  async detach(dmabuf, attach) {
    await heapBuf(dmabuf).detach(heapAttach(attach));
  },
  mapDmaBuf(attach, dir) {
    return heapBuf(attach.dmabuf).mapDmaBuf(heapAttach(attach), dir);
  },
  unmapDmaBuf(attach, sgt, dir) {
    heapBuf(attach.dmabuf).unmapDmaBuf(heapAttach(attach), sgt, dir);
  },
  beginCpuAccess(dmabuf, dir) {
    return heapBuf(dmabuf).beginCpuAccess(dir);
  },
  endCpuAccess(dmabuf, dir) {
    return heapBuf(dmabuf).endCpuAccess(dir);
  },
  mmap(dmabuf, vma) {
    return heapBuf(dmabuf).mmap(vma);
  },
  async vmap(dmabuf) {
    const area = await heapBuf(dmabuf).vmap();
    if (typeof area === 'number') return area;
    return { vaddr: area.addr, isIomem: false, area };
  },
  async vunmap(dmabuf, map) {
    await heapBuf(dmabuf).vunmap(map.area as VmapArea);
  },
  release(dmabuf) {
    heapBuf(dmabuf).release();
  },
};

/**
 * `dma_heap_buffer_alloc`: allocate `len` bytes from the system heap (of a
 * kernel's RAM, or a given heap) and export them as a dma-buf named after
 * the heap. Invalid flags or length `-EINVAL`, `-ENOMEM`, `-EINTR` (signal
 * during allocation). Process context.
 *
 * @kernel dma_heap_buffer_alloc, system_heap_allocate
 */
export function dmaHeapBufferAlloc(
  target: Kernel | SystemHeap,
  len: number,
  fdFlags: number = DMA_HEAP_DEFAULT_FD_FLAGS,
  heapFlags = 0,
): DmaBuf | number {
  const heap = target instanceof Kernel ? systemHeapOf(target) : target;
  const k = heap.kernel;
  if (!k)
    throw new Error(
      'dmaHeapBufferAlloc: the heap needs a kernel (systemHeapOf(kernel)) to export dma-bufs',
    );
  const buf = heap.allocate(len, fdFlags, heapFlags);
  if (typeof buf === 'number') return buf;
  const dmabuf = dmaBufExport(k, {
    expName: heap.name,
    ops: systemHeapBufOps,
    size: buf.len,
    flags: fdFlags,
    priv: buf,
  });
  if (typeof dmabuf === 'number') buf.release();
  return dmabuf;
}

/**
 * `DMA_HEAP_IOCTL_ALLOC` as userspace sees it: allocate and install an fd in
 * `proc`; the fd or a negative errno.
 *
 * @kernel dma_heap_ioctl_allocate
 */
export function dmaHeapIoctlAllocate(
  proc: UserProcess,
  target: Kernel | SystemHeap,
  len: number,
  fdFlags: number = DMA_HEAP_DEFAULT_FD_FLAGS,
  heapFlags = 0,
): number {
  const dmabuf = dmaHeapBufferAlloc(target, len, fdFlags, heapFlags);
  if (typeof dmabuf === 'number') return dmabuf;
  const fd = dmabuf.fd(proc, fdFlags);
  if (fd < 0) dmabuf.put();
  return fd;
}
