import { describe, expect, it } from 'vitest';
import { Errno, msleep } from '../../src/kernel/index.ts';
import {
  OpenFile,
  POLLIN,
  POLLOUT,
  UserProcess,
  dmaFenceArrayCreate,
  dmaFenceContextAlloc,
  syncFileCreate,
  syncFileGetFence,
  toDmaFenceArray,
} from '../../src/fence/index.ts';
import type { DmaFence, PollFd } from '../../src/fence/index.ts';
import { DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE } from '../../src/buf/index.ts';
import type { DmaBuf } from '../../src/buf/index.ts';
import { DmaResvUsage } from '../../src/resv/index.ts';
import { checkedKernel, mkFence, rules } from '../resv/helpers.ts';
import { testExporter } from './dmabuf-helpers.ts';

async function addFences(d: DmaBuf, list: [DmaFence, DmaResvUsage][]): Promise<void> {
  await d.resv.lock(null);
  d.resv.reserveFences(list.length);
  for (const [f, u] of list) d.resv.addFence(f, u);
  d.resv.unlock();
}

describe('poll and sync_file on a dma-buf with read and write fences', () => {
  it('EPOLLIN once writes are done, EPOLLOUT once all access is done; a sleeping poll is woken', async () => {
    const k = checkedKernel();
    const proc = new UserProcess(k, 'app');
    const seen: string[] = [];
    const w = mkFence(k);
    const rd = mkFence(k);
    const bk = mkFence(k);
    let fd = -1;
    proc.spawn('app', async () => {
      const { dmabuf } = testExporter(k);
      fd = dmabuf.fd(proc);
      await addFences(dmabuf, [
        [w, DmaResvUsage.WRITE],
        [rd, DmaResvUsage.READ],
        [bk, DmaResvUsage.BOOKKEEP],
      ]);
      const now = async (events: number) => {
        const fds: PollFd[] = [{ fd, events }];
        await proc.poll(fds, 0);
        return fds[0]!.revents ?? 0;
      };
      seen.push(`start in=${await now(POLLIN)} out=${await now(POLLOUT)}`);
      // Sleep until readable: the GPU thread signals the write at 10 ms.
      const fds: PollFd[] = [{ fd, events: POLLIN }];
      const n = await proc.poll(fds, -1);
      seen.push(`woken at ${k.nowNs / 1e6}ms n=${n} in=${fds[0]!.revents}`);
      seen.push(`after write in=${await now(POLLIN)} out=${await now(POLLOUT)}`);
      await msleep(k, 20);
      seen.push(`after read in=${await now(POLLIN)} out=${await now(POLLOUT)}`);
      proc.exit();
      bk.signal();
      for (const f of [w, rd, bk]) f.put();
    });
    k.kthreadRun('gpu', async () => {
      await msleep(k, 9);
      w.signal();
      await msleep(k, 10);
      rd.signal();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(seen).toEqual([
      'start in=0 out=0',
      `woken at 10ms n=1 in=${POLLIN}`,
      `after write in=${POLLIN} out=0`,
      `after read in=${POLLIN} out=${POLLOUT}`,
    ]);
    expect(rules(r)).toEqual([]);
  });

  it('EXPORT_SYNC_FILE snapshots writers (READ) or everyone (WRITE); none gives a signalled stub', async () => {
    const k = checkedKernel();
    const proc = new UserProcess(k, 'app');
    proc.spawn('app', async () => {
      const { dmabuf } = testExporter(k);
      const fd = dmabuf.fd(proc);
      const none = { flags: DMA_BUF_SYNC_READ, fd: -1 };
      expect(await proc.ioctl(fd, 'DMA_BUF_IOCTL_EXPORT_SYNC_FILE', none)).toBe(0);
      const stub = syncFileGetFence(proc, none.fd)!;
      expect(stub.signalled).toBe(true);
      stub.put();
      const w = mkFence(k);
      const rd = mkFence(k);
      await addFences(dmabuf, [
        [w, DmaResvUsage.WRITE],
        [rd, DmaResvUsage.READ],
      ]);
      const forRead = { flags: DMA_BUF_SYNC_READ, fd: -1 };
      const forWrite = { flags: DMA_BUF_SYNC_WRITE, fd: -1 };
      expect(await proc.ioctl(fd, 'DMA_BUF_IOCTL_EXPORT_SYNC_FILE', forRead)).toBe(0);
      expect(await proc.ioctl(fd, 'DMA_BUF_IOCTL_EXPORT_SYNC_FILE', forWrite)).toBe(0);
      const fr = syncFileGetFence(proc, forRead.fd)!;
      const fw = syncFileGetFence(proc, forWrite.fd)!;
      expect(fr).toBe(w);
      const arr = toDmaFenceArray(fw)!;
      expect(arr.fences.slice(0, arr.numFences)).toEqual([w, rd]);
      // A snapshot: a later writer is not in the exported fence.
      const later = mkFence(k);
      await addFences(dmabuf, [[later, DmaResvUsage.WRITE]]);
      w.signal();
      rd.signal();
      expect(fw.isSignaled()).toBe(true);
      expect(later.signalled).toBe(false);
      expect(await proc.ioctl(fd, 'DMA_BUF_IOCTL_EXPORT_SYNC_FILE', { flags: 0, fd: -1 })).toBe(
        -Errno.EINVAL,
      );
      expect(await proc.ioctl(fd, 'DMA_BUF_IOCTL_EXPORT_SYNC_FILE', { flags: 4, fd: -1 })).toBe(
        -Errno.EINVAL,
      );
      later.signal();
      for (const f of [fr, fw, w, rd, later]) f.put();
      proc.exit();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
  });

  it('IMPORT_SYNC_FILE adds every leaf with usage WRITE or READ; the buffer then polls busy', async () => {
    const k = checkedKernel();
    const proc = new UserProcess(k, 'app');
    proc.spawn('app', async () => {
      const { dmabuf } = testExporter(k);
      const fd = dmabuf.fd(proc);
      const a = mkFence(k);
      const b = mkFence(k);
      const arr = dmaFenceArrayCreate(
        k,
        2,
        [a.get(), b.get()],
        dmaFenceContextAlloc(k, 1),
        1,
        false,
      )!;
      arr.enableSwSignaling();
      const sf = syncFileCreate(k, arr)!;
      arr.put();
      const sfd = proc.getUnusedFd();
      proc.fdInstall(sfd, new OpenFile(sf));
      expect(
        await proc.ioctl(fd, 'DMA_BUF_IOCTL_IMPORT_SYNC_FILE', {
          flags: DMA_BUF_SYNC_WRITE,
          fd: sfd,
        }),
      ).toBe(0);
      expect(dmabuf.resv.entries()).toEqual([
        { fence: a, usage: DmaResvUsage.WRITE },
        { fence: b, usage: DmaResvUsage.WRITE },
      ]);
      const c = mkFence(k);
      const sf2 = syncFileCreate(k, c)!;
      const sfd2 = proc.getUnusedFd();
      proc.fdInstall(sfd2, new OpenFile(sf2));
      expect(
        await proc.ioctl(fd, 'DMA_BUF_IOCTL_IMPORT_SYNC_FILE', {
          flags: DMA_BUF_SYNC_READ,
          fd: sfd2,
        }),
      ).toBe(0);
      expect(dmabuf.resv.entries()[2]).toEqual({ fence: c, usage: DmaResvUsage.READ });
      // Not a sync_file: the dma-buf fd itself.
      expect(
        await proc.ioctl(fd, 'DMA_BUF_IOCTL_IMPORT_SYNC_FILE', { flags: DMA_BUF_SYNC_READ, fd }),
      ).toBe(-Errno.EINVAL);
      expect(await proc.ioctl(fd, 'DMA_BUF_IOCTL_IMPORT_SYNC_FILE', { flags: 8, fd: sfd2 })).toBe(
        -Errno.EINVAL,
      );
      expect(await proc.ioctl(fd, 'DMA_BUF_IOCTL_UNKNOWN', {})).toBe(-Errno.ENOTTY);
      const fds: PollFd[] = [{ fd, events: POLLIN | POLLOUT }];
      expect(await proc.poll(fds, 0)).toBe(0);
      a.signal();
      b.signal();
      expect(await proc.poll(fds, 0)).toBe(1);
      expect(fds[0]!.revents).toBe(POLLIN);
      c.signal();
      await proc.poll(fds, 0);
      expect(fds[0]!.revents).toBe(POLLIN | POLLOUT);
      for (const f of [a, b, c]) f.put();
      proc.exit();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
  });
});
