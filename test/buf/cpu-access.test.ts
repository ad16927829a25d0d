import { describe, expect, it } from 'vitest';
import { Errno, msleep } from '../../src/kernel/index.ts';
import { UserProcess } from '../../src/fence/index.ts';
import { DMA_FROM_DEVICE, DMA_TO_DEVICE } from '../../src/pci/index.ts';
import {
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_WRITE,
  Vma,
} from '../../src/buf/index.ts';
import type { IosysMap } from '../../src/buf/index.ts';
import { DmaResvUsage } from '../../src/resv/index.ts';
import { checkedKernel, mkFence, rules } from '../resv/helpers.ts';
import { testExporter } from './dmabuf-helpers.ts';

describe('CPU access, vmap and mmap', () => {
  it('begin_cpu_access: a CPU read waits for writers only, a CPU write for readers too', async () => {
    const k = checkedKernel();
    const proc = new UserProcess(k, 'app');
    const at: Record<string, number> = {};
    const w = mkFence(k);
    const rd = mkFence(k);
    proc.spawn('app', async () => {
      const { dmabuf } = testExporter(k, {
        ops: {
          beginCpuAccess: () => 0,
          endCpuAccess: () => 0,
        },
      });
      const fd = dmabuf.fd(proc);
      await dmabuf.resv.lock(null);
      dmabuf.resv.reserveFences(2);
      dmabuf.resv.addFence(w, DmaResvUsage.WRITE);
      dmabuf.resv.addFence(rd, DmaResvUsage.READ);
      dmabuf.resv.unlock();
      expect(await dmabuf.beginCpuAccess(DMA_FROM_DEVICE)).toBe(0);
      at.read = k.nowNs / 1e6;
      expect(await proc.ioctl(fd, 'DMA_BUF_IOCTL_SYNC', { flags: DMA_BUF_SYNC_WRITE })).toBe(0);
      at.write = k.nowNs / 1e6;
      expect(
        await proc.ioctl(fd, 'DMA_BUF_IOCTL_SYNC', {
          flags: DMA_BUF_SYNC_WRITE | DMA_BUF_SYNC_END,
        }),
      ).toBe(0);
      expect(await proc.ioctl(fd, 'DMA_BUF_IOCTL_SYNC', { flags: 0 })).toBe(-Errno.EINVAL);
      expect(await proc.ioctl(fd, 'DMA_BUF_IOCTL_SYNC', { flags: DMA_BUF_SYNC_READ | 8 })).toBe(
        -Errno.EINVAL,
      );
      expect(await proc.ioctl(fd, 'DMA_BUF_SET_NAME', 'x'.repeat(31))).toBe(0);
      expect(dmabuf.name).toBe('x'.repeat(31));
      expect(await proc.ioctl(fd, 'DMA_BUF_SET_NAME_B', 'y'.repeat(32))).toBe(-Errno.EINVAL);
      expect(await proc.ioctl(fd, 'DMA_BUF_SET_NAME_A', 42)).toBe(-Errno.EFAULT);
      proc.exit();
      w.put();
      rd.put();
    });
    k.kthreadRun('gpu', async () => {
      await msleep(k, 9);
      w.signal();
      await msleep(k, 10);
      rd.signal();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
    // msleep adds a jiffy: the write fence signals at 10 ms, the read fence at 21 ms.
    expect(at).toEqual({ read: 10, write: 21 });
  });

  it('vmap is counted (one exporter call per first map, one vunmap at the last), under the resv lock', async () => {
    const k = checkedKernel();
    const calls: string[] = [];
    k.kthreadRun('t', async () => {
      const { dmabuf } = testExporter(k, {
        ops: {
          vmap: () => (calls.push('vmap'), { vaddr: 0x1000, isIomem: false }),
          vunmap: () => {
            calls.push('vunmap');
          },
        },
      });
      const m1 = (await dmabuf.vmapUnlocked()) as IosysMap;
      const m2 = (await dmabuf.vmapUnlocked()) as IosysMap;
      expect(m2).toBe(m1);
      await dmabuf.vunmapUnlocked(m1);
      expect(calls).toEqual(['vmap']);
      await dmabuf.vunmapUnlocked(m1);
      expect(calls).toEqual(['vmap', 'vunmap']);
      // Without the lock, and a mismatched unmap.
      const m3 = (await dmabuf.vmap()) as IosysMap;
      expect(m3.vaddr).toBe(0x1000);
      await dmabuf.vunmapUnlocked({ vaddr: 0x2000, isIomem: false });
      // Dropped while still vmapped.
      dmabuf.put();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([
      'resv.not_locked',
      'dma_buf.vunmap_mismatch',
      'dma_buf.release_vmapped',
    ]);
  });

  it('mmap: no exporter mmap or past the end is -EINVAL; otherwise the VMA is pointed at the buffer', async () => {
    const k = checkedKernel();
    const pgoffs: number[] = [];
    k.kthreadRun('t', async () => {
      const plain = testExporter(k, { size: 0x4000 });
      expect(await plain.dmabuf.mmap(new Vma({ len: 0x1000 }), 0)).toBe(-Errno.EINVAL);
      plain.dmabuf.put();
      const { dmabuf } = testExporter(k, {
        size: 0x4000,
        ops: {
          mmap: (_d, vma) => {
            pgoffs.push(vma.pgoff);
            return 0;
          },
        },
      });
      expect(await dmabuf.mmap(new Vma({ len: 0x2000 }), 2)).toBe(0);
      expect(await dmabuf.mmap(new Vma({ len: 0x2000 }), 3)).toBe(-Errno.EINVAL);
      expect(await dmabuf.beginCpuAccess(DMA_TO_DEVICE)).toBe(0);
      dmabuf.put();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(pgoffs).toEqual([2]);
  });
});
