import type { DmaFence } from '../fence/index.ts';
import { Errno, GFP_KERNEL, kzalloc } from '../kernel/index.ts';
import { DmaResvUsage } from '../resv/index.ts';
import { NPU_MAX_REGIONS, NPU_SRAM_REGION, NpuJob } from './npu.ts';
import type { EthosuDevice, NpuBo, NpuFile } from './npu.ts';
import { lockReservations, unlockReservations } from './resv-lock.ts';

/** What userspace submits (`struct drm_ethosu_job`, reduced to what the model checks). */
export interface NpuSubmitArgs {
  /** The command stream buffer. */
  cmdstream: NpuBo;
  /** Bytes of each region the (kernel-validated) command stream accesses; 0 = unused. Up to 8. */
  regionUse: readonly number[];
  /** The buffer bound to each region (null: none). Up to 8. */
  regions: readonly (NpuBo | null)[];
  /** SRAM scratch size for region 2 (0 = none). */
  sramSize?: number;
  /** Regions the job writes: the job's finished fence goes into their resv as WRITE. */
  outputs?: readonly number[];
  /** Simulated run time. */
  durationNs?: number;
  /** Make the hardware hang on this job. */
  hang?: boolean;
}

/**
 * Region validation done at submit (the driver has no MMU, so the kernel
 * checks the command stream against the buffers): region 2 cannot be both a
 * buffer and SRAM (-EINVAL), a buffer for a region the command stream does
 * not use is -EINVAL, a used region without backing is -EINVAL, and a
 * region larger than its buffer is -EOVERFLOW.
 *
 * @kernel ethosu_ioctl_submit_job (its region checks against the validated command stream)
 */
export function npuValidateRegions(dev: EthosuDevice, args: NpuSubmitArgs): number {
  const sram = args.sramSize ?? 0;
  if (args.regions.length > NPU_MAX_REGIONS || args.regionUse.length > NPU_MAX_REGIONS) return -Errno.EINVAL;
  if (args.regions[NPU_SRAM_REGION] && sram) return -Errno.EINVAL;
  if (sram > dev.sramSize) return -Errno.EINVAL;
  for (let i = 0; i < NPU_MAX_REGIONS; i++) {
    const bo = args.regions[i] ?? null;
    const use = args.regionUse[i] ?? 0;
    if (bo && !use) return -Errno.EINVAL;
    if (!use) continue;
    const size = bo ? bo.size : i === NPU_SRAM_REGION ? sram : 0;
    if (!bo && !(i === NPU_SRAM_REGION && sram)) return -Errno.EINVAL;
    if (use > size) return -Errno.EOVERFLOW;
  }
  for (const o of args.outputs ?? []) if (!args.regions[o]) return -Errno.EINVAL;
  return 0;
}

/**
 * `ethosu_ioctl_submit` with the v6 job push (Oct 2025, after Matthew
 * Brost's review): everything that can fail or allocate happens before
 * `drm_sched_job_arm`:
 *
 * 1. validate; allocate the job and its done-fence storage
 *    (`dev.allocDoneFence`); `drm_sched_job_init`;
 * 2. lock every region's reservation (ww back-off); reserve a fence slot and
 *    add the implicit dependencies of each buffer;
 * 3. `pm_runtime_resume_and_get` (`dev.pmGetForJob`);
 * 4. under `sched_lock`: arm, take the finished fence, a job reference for
 *    the scheduler, push;
 * 5. add the finished fence to the output buffers (WRITE); unlock.
 *
 * Any failure before arm unwinds completely (no PM reference, fence or job
 * left). Returns a reference to the finished fence, or a negative errno.
 * Process context.
 *
 * @kernel ethosu_ioctl_submit
 */
export async function npuSubmit(dev: EthosuDevice, file: NpuFile, args: NpuSubmitArgs): Promise<DmaFence | number> {
  const k = dev.kernel;
  let ret = npuValidateRegions(dev, args);
  if (ret) return ret;
  if (!kzalloc(k, 256, GFP_KERNEL, 'ethosu_job_alloc')) return -Errno.ENOMEM;
  const job = new NpuJob(k);
  ret = dev.allocDoneFence(job);
  if (ret) return ret;
  ret = job.init(file.entity, 1, file, file.clientId);
  if (ret) return ret;
  job.regions = [...args.regions];
  job.outputs = [...(args.outputs ?? [])];
  job.durationNs = args.durationNs ?? 1_000_000;
  job.hang = args.hang ?? false;
  const bos = [args.cmdstream, ...args.regions.filter((b): b is NpuBo => b !== null)];
  const unique = [...new Set(bos)];

  const ctx = await lockReservations(k, unique);
  if (typeof ctx === 'number') {
    job.cleanup();
    return ctx;
  }
  // ethosu_acquire_object_fences: before arm (v5 did it after, with allocations in the signalling path).
  for (const bo of unique) {
    const write = job.outputs.some((o) => args.regions[o] === bo);
    ret = bo.resv.reserveFences(1);
    if (!ret) ret = job.addImplicitDependencies(bo, write);
    if (ret) break;
  }
  if (!ret) ret = await dev.pmGetForJob(job);
  if (ret) {
    unlockReservations(unique, ctx);
    job.cleanup();
    return ret;
  }

  await dev.schedLock.lock();
  job.arm();
  const finished = job.finished.get();
  job.refs++; // the scheduler's reference, dropped by free_job
  file.entity.pushJob(job);
  dev.schedLock.unlock();

  for (const o of job.outputs) {
    const bo = args.regions[o]!;
    bo.resv.addFence(finished, DmaResvUsage.WRITE);
  }
  unlockReservations(unique, ctx);
  dev.jobPut(job);
  return finished;
}
