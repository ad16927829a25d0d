/**
 * A system-heap dma-buf shared by three devices, each behind its own
 * drm_sched scheduler: a camera writes a frame, a GPU post-processes it in
 * place, a display scans it out. Nobody passes fences explicitly: every job
 * collects its implicit dependencies from the buffer's reservation object
 * (writers wait for readers and writers, readers for writers) and publishes
 * its finished fence there. Three frames go round; each stage starts only
 * after the stage it depends on finished.
 *
 * Expectation: clean.
 */
import { dmaHeapBufferAlloc } from '../src/buf/index.ts';
import type { DmaBuf } from '../src/buf/index.ts';
import { defineScenario } from '../src/scenario/index.ts';
import type { DmaFence } from '../src/fence/index.ts';
import { GpuDevice } from '../src/hw/index.ts';
import type { DrmSchedEntity } from '../src/sched/index.ts';
import { DMA_BIDIRECTIONAL, Device } from '../src/pci/index.ts';
import { DmaResvUsage } from '../src/resv/index.ts';

async function stage(dev: GpuDevice, entity: DrmSchedEntity, buf: DmaBuf, write: boolean, durationNs: number): Promise<DmaFence> {
  const resv = buf.resv;
  await resv.lock(null);
  if (resv.reserveFences(1)) throw new Error('reserve failed');
  const job = dev.jobCreate(entity, durationNs);
  if (typeof job === 'number') throw new Error(`job create failed: ${job}`);
  if (job.addImplicitDependencies({ resv }, write)) throw new Error('dependencies failed');
  const fence = await dev.submit(job);
  resv.addFence(fence, write ? DmaResvUsage.WRITE : DmaResvUsage.READ);
  resv.unlock();
  return fence;
}

export default defineScenario({
  name: 'heap-camera-display',
  description: 'a system-heap buffer shared camera -> GPU -> display with implicit sync through its reservation object',
  expect: { verdict: 'clean' },
  setup(k, ctx) {
    const camera = new GpuDevice(k, { name: 'camera-isp', irq: 80 });
    const gpu = new GpuDevice(k, { name: 'gpu', irq: 81 });
    const display = new GpuDevice(k, { name: 'display', irq: 82 });
    k.kthreadRun('compositor', async () => {
      const buf = dmaHeapBufferAlloc(k, 4 << 20);
      if (typeof buf === 'number') throw new Error(`heap alloc failed: ${buf}`);
      const devs = [new Device('camera'), new Device('gpu'), new Device('display')];
      const attachments = [];
      for (const d of devs) {
        const a = await buf.attach(d);
        if (typeof a === 'number') throw new Error(`attach failed: ${a}`);
        const sgt = await a.mapAttachmentUnlocked(DMA_BIDIRECTIONAL);
        if (typeof sgt === 'number') throw new Error(`map failed: ${sgt}`);
        attachments.push({ a, sgt });
      }
      const ents = [camera.createEntity(), gpu.createEntity(), display.createEntity()];
      const all: DmaFence[][] = [];
      for (let frame = 0; frame < 3; frame++) {
        const cam = await stage(camera, ents[0]!, buf, true, 3_000_000);
        const post = await stage(gpu, ents[1]!, buf, true, 2_000_000);
        const scan = await stage(display, ents[2]!, buf, false, 1_000_000);
        all.push([cam, post, scan]);
      }
      for (const fs of all) for (const f of fs) await f.wait(false);
      for (let i = 0; i < all.length; i++) {
        const [cam, post, scan] = all[i]!;
        // Stages of a frame complete in order, and the next frame's capture waited for the scan-out.
        if (!(cam!.timestampNs <= post!.timestampNs - 2e6 && post!.timestampNs <= scan!.timestampNs - 1e6)) throw new Error(`frame ${i}: stages overlapped`);
        const next = all[i + 1];
        if (next && next[0]!.timestampNs - 3e6 < scan!.timestampNs) throw new Error(`frame ${i + 1} captured before frame ${i} was scanned out`);
      }
      ctx.note(`3 frames, 9 jobs on 3 schedulers, chained only through the buffer's resv; last scan-out done at ${all[2]![2]!.timestampNs / 1e6} ms`);
      for (const fs of all) for (const f of fs) f.put();
      for (const { a, sgt } of attachments) {
        await a.unmapAttachmentUnlocked(sgt, DMA_BIDIRECTIONAL);
        await buf.detach(a);
      }
      buf.put();
      for (const e of ents) await e.destroy();
      await camera.fini();
      await gpu.fini();
      await display.fini();
    });
  },
});
