import { Errno, WwAcquireCtx } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import { reservationWwClass } from '../resv/index.ts';
import type { DmaResv } from '../resv/index.ts';

/** An object with a reservation object (a GEM object). */
export interface HasResvObj {
  readonly resv: DmaResv;
}

/**
 * The reservation objects of `objs` without duplicates (objects sharing a resv count once).
 *
 * @kernel none: what drivers open-code (Xe compares resv pointers; drm_exec skips a resv already locked, -EALREADY)
 */
export function uniqueResvs(objs: readonly HasResvObj[]): DmaResv[] {
  const out: DmaResv[] = [];
  for (const o of objs) if (!out.includes(o.resv)) out.push(o.resv);
  return out;
}

/**
 * `drm_gem_lock_reservations`: lock every reservation of `objs` under one
 * acquire context, backing off on -EDEADLK (drop everything, sleep on the
 * contended lock with `lockSlowInterruptible`, retry). Returns the context
 * (finish with `unlockReservations`) or a negative errno (-EINTR) with
 * nothing held. Process context.
 *
 * @kernel drm_gem_lock_reservations (drivers/gpu/drm/drm_gem.c)
 */
export async function lockReservations(k: Kernel, objs: readonly HasResvObj[]): Promise<WwAcquireCtx | number> {
  const resvs = uniqueResvs(objs);
  const ctx = new WwAcquireCtx(k, reservationWwClass);
  let contended = -1;
  for (;;) {
    if (contended >= 0) {
      const r = await resvs[contended]!.lockSlowInterruptible(ctx);
      if (r) {
        ctx.fini();
        return r;
      }
    }
    let failed = 0;
    let i = 0;
    for (; i < resvs.length; i++) {
      if (i === contended) continue;
      const r = await resvs[i]!.lockInterruptible(ctx);
      if (r) {
        failed = r;
        break;
      }
    }
    if (!failed) break;
    for (let j = 0; j < i; j++) if (j !== contended) resvs[j]!.unlock();
    if (contended >= i) resvs[contended]!.unlock();
    if (failed === -Errno.EDEADLK) {
      contended = i;
      continue;
    }
    ctx.fini();
    return failed;
  }
  ctx.done();
  return ctx;
}

/** `drm_gem_unlock_reservations`: unlock every reservation and end the context. @kernel drm_gem_unlock_reservations */
export function unlockReservations(objs: readonly HasResvObj[], ctx: WwAcquireCtx): void {
  for (const r of uniqueResvs(objs)) r.unlock();
  ctx.fini();
}
