import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/kernel/index.ts';
import { UserProcess, syncFileCreate, OpenFile, dmaFenceGetStub } from '../../src/fence/index.ts';
import { dmaBufExport, dmaBufGet } from '../../src/buf/index.ts';
import type { DmaBufOps } from '../../src/buf/index.ts';
import { DmaResv } from '../../src/resv/index.ts';
import { checkedKernel, rules } from '../resv/helpers.ts';
import { dev, testExporter } from './dmabuf-helpers.ts';

describe('dma_buf export, fds and lifetime', () => {
  it('export refuses incomplete ops with a WARN and -EINVAL', async () => {
    const k = checkedKernel();
    const results: number[] = [];
    k.kthreadRun('t', () => {
      const release = () => {};
      const map = () => null;
      const bad: DmaBufOps[] = [
        { release },
        { release, mapDmaBuf: map },
        { release, mapDmaBuf: map, unmapDmaBuf: () => {}, pin: () => 0 },
        { release, mapDmaBuf: map, unmapDmaBuf: () => {}, matchMapping: () => 0 },
      ];
      for (const ops of bad) results.push(dmaBufExport(k, { ops, size: 4096, priv: {} }) as number);
      results.push(
        dmaBufExport(k, {
          ops: { release, mapDmaBuf: map, unmapDmaBuf: () => {} },
          size: 4096,
          priv: null,
        }) as number,
      );
    });
    const r = await k.run();
    expect(results).toEqual([-22, -22, -22, -22, -22]);
    expect(rules(r).filter((x) => x === 'dma_buf.export_invalid')).toHaveLength(5);
  });

  it('fds, dma_buf_get and put share one count; the last put releases once and finalizes the embedded resv', async () => {
    const k = checkedKernel();
    const proc = new UserProcess(k, 'app');
    const other = new UserProcess(k, 'compositor');
    let released = -1;
    proc.spawn('app', async () => {
      const { dmabuf, stats } = testExporter(k);
      const fd = dmabuf.fd(proc);
      expect(fd).toBeGreaterThanOrEqual(0);
      expect(dmabuf.refcount).toBe(1);
      const fd2 = proc.passFd(fd, other);
      expect(dmabuf.refcount).toBe(2);
      const got = dmaBufGet(other, fd2);
      expect(got).toBe(dmabuf);
      expect(dmabuf.refcount).toBe(3);
      expect(dmaBufGet(other, 99)).toBe(-Errno.EBADF);
      // A sync_file fd is not a dma-buf.
      const sf = syncFileCreate(k, dmaFenceGetStub(k))!;
      sf.fence.put();
      const sfd = proc.getUnusedFd();
      proc.fdInstall(sfd, new OpenFile(sf));
      expect(dmaBufGet(proc, sfd)).toBe(-Errno.EINVAL);
      proc.close(sfd);
      dmabuf.put();
      proc.close(fd);
      expect(stats.release).toBe(0);
      other.close(fd2);
      released = stats.release;
      expect(dmabuf.resv.dead).toBe(true);
      // Any later reference is a use after free.
      dmabuf.get();
    });
    const r = await k.run();
    expect(released).toBe(1);
    expect(rules(r)).toContain('refcount.addition_on_0');
  });

  it('a shared resv is not finalized with the buffer; releasing with attachments WARNs', async () => {
    const k = checkedKernel();
    k.kthreadRun('t', async () => {
      const resv = new DmaResv(k);
      const release = () => {};
      const d = dmaBufExport(k, {
        ops: { release, mapDmaBuf: () => null, unmapDmaBuf: () => {} },
        size: 4096,
        priv: {},
        resv,
      });
      if (typeof d === 'number') throw new Error('export');
      expect(d.resv).toBe(resv);
      const a = await d.attach(dev());
      expect(typeof a).not.toBe('number');
      d.put();
      expect(resv.dead).toBe(false);
      resv.fini();
    });
    const r = await k.run();
    expect(rules(r)).toEqual(['dma_buf.release_with_attachments']);
  });
});
