/**
 * Shared body of the syncobj-wait-before-submit scenarios: a GPU context
 * with one timeline syncobj and a context lock, two Vulkan queues that
 * submit through the driver's submit ioctl ("wait for point 1, signal
 * point 2" and "signal point 1"), and a teardown. The scenarios differ only
 * in their submit ioctl: where it resolves the in-syncobj relative to the
 * context lock.
 */
import { dmaFenceChainAlloc } from '../src/fence/index.ts';
import type { DmaFence } from '../src/fence/index.ts';
import {
  DrmDevice,
  DrmFile,
  drmSyncobjAddPoint,
  drmSyncobjCreate,
  drmSyncobjFind,
  drmSyncobjFindFence,
  drmSyncobjGetHandle,
  drmSyncobjRelease,
} from '../src/gem/index.ts';
import { GpuDevice } from '../src/hw/index.ts';
import type { DrmSchedEntity } from '../src/sched/index.ts';
import { Completion, Errno, errnoName, Mutex } from '../src/kernel/index.ts';
import type { Kernel } from '../src/kernel/index.ts';
import { Device } from '../src/pci/index.ts';
import type { ScenarioContext } from '../src/scenario/index.ts';

/** One submission: the timeline point it waits for (0: none), the point it signals. */
export interface Submit {
  inPoint: number;
  outPoint: number;
  durationNs: number;
}

/** The driver's per-context state. */
export interface GpuContext {
  readonly k: Kernel;
  readonly gpu: GpuDevice;
  readonly file: DrmFile;
  /** The timeline syncobj's handle in `file`. */
  readonly handle: number;
  /** `ctx->lock`: serialises submissions on the context. */
  readonly lock: Mutex;
  readonly entity: DrmSchedEntity;
}

/** A GPU, a DRM file with one timeline syncobj, the context lock and an entity. */
export function gpuContext(k: Kernel): GpuContext {
  const gpu = new GpuDevice(k, { name: 'gpu', irq: 90 });
  const file = new DrmFile(new DrmDevice(k, 'gpu', new Device('gpu')));
  const timeline = drmSyncobjCreate(k, 0);
  if (typeof timeline === 'number') throw new Error('drm_syncobj_create failed');
  const handle = drmSyncobjGetHandle(file, timeline);
  timeline.put();
  return { k, gpu, file, handle, lock: new Mutex(k, '&ctx->lock'), entity: gpu.createEntity() };
}

/**
 * The rest of the submit ioctl, called with `ctx->lock` held and the
 * in-fence (`dep`, a reference, or null) resolved: everything that can fail
 * is allocated before the job is armed; the job's finished fence becomes
 * the out point. Unlocks before returning 0 or a negative errno.
 */
export async function submitLocked(c: GpuContext, a: Submit, dep: DmaFence | null): Promise<number> {
  const job = c.gpu.jobCreate(c.entity, a.durationNs);
  if (typeof job === 'number') {
    dep?.put();
    c.lock.unlock();
    return job;
  }
  const chain = dmaFenceChainAlloc(c.k);
  if (!chain) {
    job.cleanup();
    dep?.put();
    c.lock.unlock();
    return -Errno.ENOMEM;
  }
  job.addDependency(dep);
  const done = await c.gpu.submit(job);
  const out = drmSyncobjFind(c.file, c.handle)!;
  drmSyncobjAddPoint(out, chain, done, a.outPoint);
  out.put();
  done.put();
  c.lock.unlock();
  return 0;
}

/**
 * Queue 1 submits "wait for point 1, signal point 2", queue 0 "signal
 * point 1", both through `submitIoctl`; a teardown thread waits for the
 * last point and notes each queue's result.
 */
export function twoQueues(c: GpuContext, ctx: ScenarioContext, submitIoctl: (a: Submit) => Promise<number>): void {
  const k = c.k;
  const results: string[] = [];
  const submitted = new Completion(k, 'submitted');
  k.kthreadRun('vk-queue-1', async () => {
    const r = await submitIoctl({ inPoint: 1, outPoint: 2, durationNs: 1_000_000 });
    results.push(`queue 1: ${r ? errnoName(r) : 'submitted'} at ${k.nowNs / 1e6} ms`);
    submitted.complete();
  });
  k.kthreadRun('vk-queue-0', async () => {
    const r = await submitIoctl({ inPoint: 0, outPoint: 1, durationNs: 1_000_000 });
    results.push(`queue 0: ${r ? errnoName(r) : 'submitted'} at ${k.nowNs / 1e6} ms`);
    submitted.complete();
  });
  k.kthreadRun('teardown', async () => {
    await submitted.waitForCompletion();
    await submitted.waitForCompletion();
    const p = { fence: null as DmaFence | null };
    if ((await drmSyncobjFindFence(c.file, c.handle, 0, 0, p)) === 0) {
      await p.fence!.wait(false);
      p.fence!.put();
    }
    ctx.note(results.join('; '));
    drmSyncobjRelease(c.file);
    await c.entity.destroy();
    await c.gpu.fini();
  });
}
