import { setKrefTracker } from '../kernel/index.ts';
import type { Kernel, Kref, KrefEvent, KrefTracker } from '../kernel/index.ts';

/** How many leaked objects are reported one by one before a summary line. */
const MAX_LEAK_REPORTS = 20;

/**
 * The object-lifetime tracker: follows every kref of a kernel (its history
 * is recorded while the tracker is installed) and, when the run ends,
 * reports objects whose owners opted in (`Kref.trackLeaks`) and that are
 * still referenced, with the unbalanced get/put sites. Use after the last
 * put and puts below zero are reported by `Kref` itself (`refcount.*`).
 *
 * @kernel kmemleak (mm/kmemleak.c) and the refcount_t saturation warnings, as applied to krefs
 */
export class LifetimeTracker implements KrefTracker {
  private readonly live = new Set<Kref>();

  created(ref: Kref): void {
    this.live.add(ref);
  }

  changed(ref: Kref, ev: KrefEvent): void {
    if (ev.op === 'release') this.live.delete(ref);
  }

  /** Objects still referenced (all of them, opted in or not). */
  get alive(): readonly Kref[] {
    return [...this.live];
  }

  /**
   * End-of-run check: one `lifetime.leak` splat per leaked object that opted
   * in. Skipped when the run ended in a deadlock or at a limit, where live
   * objects are expected.
   */
  checkLeaks(k: Kernel): void {
    if (k.splats.some((s) => s.rule === 'sched.deadlock' || s.rule === 'run.limit')) return;
    const leaked = [...this.live].filter((r) => r.trackLeaks && r.refcount > 0);
    leaked.slice(0, MAX_LEAK_REPORTS).forEach((r) => {
      reportLeak(k, r);
    });
    if (leaked.length > MAX_LEAK_REPORTS) {
      k.splat({
        rule: 'lifetime.leak',
        severity: 'warn',
        headline: `kmemleak: ${leaked.length - MAX_LEAK_REPORTS} more leaked objects not shown`,
        thread: null,
        data: { more: leaked.length - MAX_LEAK_REPORTS },
      });
    }
  }
}

/**
 * Sites whose gets and puts do not cancel out (net references they still account for).
 *
 * @kernel none: a leak report grouped by site, as ref_tracker_dir_print (lib/ref_tracker.c) groups the references still held by their stack
 */
export function unbalancedSites(history: readonly KrefEvent[]): { where: string; net: number }[] {
  const net = new Map<string, number>();
  for (const e of history) {
    const where = e.site ?? `thread ${e.thread ?? '?'}`;
    const d = e.op === 'init' || e.op === 'get' ? 1 : -1;
    net.set(where, (net.get(where) ?? 0) + d);
  }
  return [...net].filter(([, n]) => n !== 0).map(([where, n]) => ({ where, net: n }));
}

function reportLeak(k: Kernel, r: Kref): void {
  const h = r.history ?? [];
  const unbalanced = unbalancedSites(h);
  const hist = h.map((e) => `  ${e.op} -> ${e.count} by ${e.thread ?? '?'} at ${e.timeNs} ns${e.site ? ` (${e.site})` : ''}`);
  k.splat({
    rule: 'lifetime.leak',
    severity: 'warn',
    headline: `kmemleak: ${r.what} leaked: refcount ${r.refcount} at the end of the run`,
    body:
      `object: ${r.what}, refcount ${r.refcount}\n` +
      `unbalanced get/put sites (references still owed):\n${unbalanced.map((u) => `  ${u.net > 0 ? '+' : ''}${u.net} ${u.where}`).join('\n') || '  (none recorded)'}\n` +
      `get/put history:\n${hist.join('\n')}` +
      (k.captureStacks ? '' : '\n(run with stack capture for the source sites)'),
    thread: null,
    data: {
      object: r.what,
      refcount: r.refcount,
      unbalanced,
      history: h.map((e) => ({ op: e.op, count: e.count, thread: e.thread, timeNs: e.timeNs, site: e.site })),
    },
  });
}

const installed = new WeakMap<Kernel, LifetimeTracker>();

/**
 * Install the lifetime tracker on `k` (once; later calls return the same tracker).
 *
 * @kernel none: installs the model's lifetime checker (the kernel's refcount and KASAN checks are build options)
 */
export function installLifetimeTracker(k: Kernel): LifetimeTracker {
  let tr = installed.get(k);
  if (tr) return tr;
  tr = new LifetimeTracker();
  installed.set(k, tr);
  setKrefTracker(k, tr);
  const t = tr;
  k.addEndCheck(() => {
    t.checkLeaks(k);
  });
  return tr;
}
