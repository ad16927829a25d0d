import { dmaResvUsageRw } from '../resv/index.ts';
import type { DmaFence } from '../fence/index.ts';
import type { DrmGemObject } from './gem-object.ts';
import { drmGemUniqueResvs } from './gem-object.ts';

/**
 * The implicit-sync dependencies of a job touching `objs`: the unsignalled
 * fences of each distinct resv (`dma_resv_usage_rw(write)`), each once,
 * referenced. Objects sharing a resv contribute once (Xe's
 * `xe_migrate_copy` fix compares resvs, not objects). `-ENOMEM` on
 * allocation failure (nothing held then).
 *
 * @kernel drm_sched_job_add_implicit_dependencies (its collection step), xe_migrate_copy
 */
export function drmGemCollectImplicitDeps(
  objs: readonly DrmGemObject[],
  write: boolean,
): DmaFence[] | number {
  const out: DmaFence[] = [];
  for (const resv of drmGemUniqueResvs(objs)) {
    const fences = resv.getFences(dmaResvUsageRw(write));
    if (typeof fences === 'number') {
      for (const f of out) f.put();
      return fences;
    }
    for (const f of fences) {
      if (out.includes(f)) f.put();
      else out.push(f);
    }
  }
  return out;
}
