import { describe, expect, it } from 'vitest';
import { Errno, msleep } from '../../src/kernel/index.ts';
import { UserProcess } from '../../src/fence/index.ts';
import { dmaBufGet } from '../../src/buf/index.ts';
import type { DmaBuf } from '../../src/buf/index.ts';
import { DmaResvUsage } from '../../src/resv/index.ts';
import {
  DrmFile,
  drmGemHandleCreate,
  drmGemHandleDelete,
  drmGemObjectLookup,
  drmGemPrimeDmabufOps,
  drmGemPrimeFdToHandle,
  drmGemPrimeHandleToFd,
  drmGemRelease,
} from '../../src/gem/index.ts';
import { checkedKernel, determinism, mkFence, rules } from '../resv/helpers.ts';
import { bo, drmDevice } from './gem-helpers.ts';
import type { Kernel } from '../../src/kernel/index.ts';

function primeScenario(k: Kernel, out: Record<string, unknown>): void {
  const proc = new UserProcess(k, 'compositor');
  proc.spawn('compositor', async () => {
    const gpu = drmDevice(k, 'gpu');
    const display = drmDevice(k, 'display');
    const f1 = new DrmFile(gpu);
    const f2 = new DrmFile(gpu);
    const fd3 = new DrmFile(display);
    const obj = bo(gpu);
    const h = await drmGemHandleCreate(f1, obj);
    obj.put(); // the handle keeps it
    out.handle = h;
    expect(drmGemObjectLookup(f1, 99)).toBeNull();

    // Export: handle → fd. The object caches its dma-buf; a second export gives the same buffer.
    const fd = await drmGemPrimeHandleToFd(f1, proc, h);
    const dmabuf = dmaBufGet(proc, fd) as DmaBuf;
    expect(dmabuf.ops).toBe(drmGemPrimeDmabufOps);
    expect(dmabuf.resv).toBe(obj.resv);
    expect(obj.dmaBuf).toBe(dmabuf);
    const fdAgain = await drmGemPrimeHandleToFd(f1, proc, h);
    const again = dmaBufGet(proc, fdAgain) as DmaBuf;
    expect(again).toBe(dmabuf);
    again.put();
    dmabuf.put();
    expect(await drmGemPrimeHandleToFd(f1, proc, 42)).toBe(-Errno.ENOENT);

    // Import into the same file: the existing handle. Into another file of the same device: the same object.
    out.sameFile = await drmGemPrimeFdToHandle(f1, proc, fd);
    const h2 = await drmGemPrimeFdToHandle(f2, proc, fd);
    const same = drmGemObjectLookup(f2, h2)!;
    out.selfImport = same === obj;
    out.selfImportAttachments = dmabuf.attachments.length;
    same.put();

    // Import by another device: a new object that attached and mapped, sharing the buffer's resv.
    const h3 = await drmGemPrimeFdToHandle(fd3, proc, fd);
    const imported = drmGemObjectLookup(fd3, h3)!;
    out.foreignIsNew = imported !== obj;
    out.foreignShares = imported.resv === obj.resv;
    out.attachments = dmabuf.attachments.length;
    // A fence the display adds is the GPU's implicit sync too.
    const scanout = mkFence(k);
    await imported.resv.lock(null);
    imported.resv.reserveFences(1);
    imported.resv.addFence(scanout, DmaResvUsage.READ);
    imported.resv.unlock();
    out.visible = !obj.resv.testSignaled(DmaResvUsage.READ);
    scanout.signal();
    scanout.put();
    // Re-exporting the import hands out the original buffer.
    const fd4 = await drmGemPrimeHandleToFd(fd3, proc, h3);
    out.reexport = dmaBufGet(proc, fd4) === dmabuf;
    dmabuf.put();
    imported.put();

    // Tear down: close fds and handles; the import's detach runs from a work item.
    proc.exit();
    await drmGemRelease(fd3);
    await msleep(k, 1);
    out.attachmentsAfter = dmabuf.attachments.length;
    await drmGemHandleDelete(f2, h2);
    out.beforeLast = obj.freed;
    await drmGemRelease(f1);
    out.freed = obj.freed;
    out.released = dmabuf.released;
  });
}

describe('PRIME export and import', () => {
  it('handle → fd → handle, self-import, foreign import sharing the resv, teardown', async () => {
    const k = checkedKernel();
    const out: Record<string, unknown> = {};
    primeScenario(k, out);
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
    expect(out).toEqual({
      handle: 1,
      sameFile: 1,
      selfImport: true,
      selfImportAttachments: 0,
      foreignIsNew: true,
      foreignShares: true,
      attachments: 1,
      visible: true,
      reexport: true,
      attachmentsAfter: 0,
      beforeLast: false,
      freed: true,
      released: true,
    });
  });

  it('replays byte for byte', async () => {
    const d = await determinism(
      (k) => {
        primeScenario(k, {});
      },
      { seed: 5 },
    );
    expect(d.b).toBe(d.a);
    expect(d.replay).toBe(d.a);
  });
});
