import { Errno, condResched } from '../../src/kernel/index.ts';
import type { Kernel, WwAcquireCtx, WwMutex } from '../../src/kernel/index.ts';

/** Counters a back-off loop keeps. */
export interface BackoffStats {
  backoffs: number;
  acquisitions: number;
}

/**
 * Lock every mutex of `locks` under `ctx`, in the given order, with the
 * documented back-off: on -EDEADLK unlock everything, `lockSlow` the
 * contended lock, retry the rest (skipping the slow-locked one).
 */
export async function lockAll(locks: readonly WwMutex[], ctx: WwAcquireCtx, stats?: BackoffStats): Promise<WwMutex[]> {
  let contended: WwMutex | null = null;
  for (;;) {
    const held: WwMutex[] = [];
    let failed: WwMutex | null = null;
    if (contended) {
      await contended.lockSlow(ctx);
      held.push(contended);
    }
    for (const l of locks) {
      if (l === contended) continue;
      const r = await l.lock(ctx);
      if (r === -Errno.EDEADLK) {
        failed = l;
        break;
      }
      if (r !== 0) throw new Error(`unexpected ${r} from ww_mutex_lock`);
      held.push(l);
    }
    if (!failed) {
      if (stats) stats.acquisitions++;
      return held;
    }
    for (const h of held) h.unlock();
    if (stats) stats.backoffs++;
    contended = failed;
    await condResched(ctxKernel(ctx));
  }
}

function ctxKernel(ctx: WwAcquireCtx): Kernel {
  return ctx.kernel;
}

/** A chooser that always runs the first runnable thread and injects a ww back-off at the listed occurrences only. */
export class InjectAtChooser {
  private asked = 0;
  readonly sites: string[] = [];

  constructor(private readonly at: ReadonlySet<number>) {}

  choose(): number {
    return 0;
  }

  inject(kind: string, site: string): boolean {
    if (kind !== 'ww-slowpath') return false;
    this.sites.push(site);
    return this.at.has(this.asked++);
  }
}
