import { INT_MAX, U32_MAX, wholeArg } from './args.ts';
import type { Kernel } from './kernel.ts';
import { callerSite, LdWait, LockdepMap } from './lockdep-map.ts';
import type { Thread } from './thread.ts';

/**
 * GFP bits and the usual combinations.
 *
 * @kernel include/linux/gfp_types.h
 */
export const GFP = {
  __GFP_HIGH: 0x20,
  __GFP_IO: 0x40,
  __GFP_FS: 0x80,
  __GFP_ZERO: 0x100,
  __GFP_DIRECT_RECLAIM: 0x400,
  __GFP_KSWAPD_RECLAIM: 0x800,
  __GFP_NOWARN: 0x2000,
  __GFP_RETRY_MAYFAIL: 0x4000,
  __GFP_NOFAIL: 0x8000,
  __GFP_NORETRY: 0x10000,
  __GFP_NOLOCKDEP: 0x10000000,
} as const;

const RECLAIM = GFP.__GFP_DIRECT_RECLAIM | GFP.__GFP_KSWAPD_RECLAIM;
/** The usual GFP combinations, and single flags callers pass alone (include/linux/gfp_types.h). */
export const GFP_KERNEL = RECLAIM | GFP.__GFP_IO | GFP.__GFP_FS;
export const GFP_NOFS = RECLAIM | GFP.__GFP_IO;
export const GFP_NOIO = RECLAIM;
export const GFP_ATOMIC = GFP.__GFP_HIGH | GFP.__GFP_KSWAPD_RECLAIM;
export const GFP_NOWAIT = GFP.__GFP_KSWAPD_RECLAIM | GFP.__GFP_NOWARN;
export const GFP_USER = GFP_KERNEL;
export const __GFP_NOFAIL = GFP.__GFP_NOFAIL;
export const __GFP_NOWARN = GFP.__GFP_NOWARN;
export const __GFP_ZERO = GFP.__GFP_ZERO;

/**
 * Readable form of a GFP mask, e.g. `GFP_KERNEL|__GFP_NOWARN`.
 *
 * @kernel %pGg (lib/vsprintf.c, the gfpflag_names table)
 */
export function gfpName(gfp: number): string {
  const base: [number, string][] = [
    [GFP_KERNEL, 'GFP_KERNEL'],
    [GFP_NOFS, 'GFP_NOFS'],
    [GFP_NOIO, 'GFP_NOIO'],
    [GFP_ATOMIC, 'GFP_ATOMIC'],
    [GFP.__GFP_KSWAPD_RECLAIM, 'GFP_NOWAIT'],
  ];
  for (const [mask, name] of base) {
    if ((gfp & (mask | RECLAIM | GFP.__GFP_IO | GFP.__GFP_FS | GFP.__GFP_HIGH)) === mask) {
      const rest = gfp & ~mask;
      const extra = (Object.keys(GFP) as (keyof typeof GFP)[])
        .filter((k) => (rest & GFP[k]) !== 0)
        .map((k) => k);
      return [name, ...extra].join('|');
    }
  }
  return `0x${gfp.toString(16)}`;
}

/** `gfpflags_allow_blocking`. @kernel gfpflags_allow_blocking */
export function gfpAllowsBlocking(gfp: number): boolean {
  return (gfp & GFP.__GFP_DIRECT_RECLAIM) !== 0;
}

/** Scope flags for `memalloc_*_save`. */
export const PF_MEMALLOC_NOFS = GFP.__GFP_FS;
export const PF_MEMALLOC_NOIO = GFP.__GFP_FS | GFP.__GFP_IO;

/** `memalloc_nofs_save`: allocations in the scope behave as GFP_NOFS. Returns the cookie for restore. @kernel memalloc_nofs_save */
export function memallocNofsSave(k: Kernel): number {
  const t = k.current;
  const old = t.gfpScopeMask;
  t.gfpScopeMask |= PF_MEMALLOC_NOFS;
  return old;
}

/** `memalloc_nofs_restore`. @kernel memalloc_nofs_restore */
export function memallocNofsRestore(k: Kernel, cookie: number): void {
  k.current.gfpScopeMask = cookie;
}

/** `memalloc_noio_save`: allocations in the scope behave as GFP_NOIO. @kernel memalloc_noio_save */
export function memallocNoioSave(k: Kernel): number {
  const t = k.current;
  const old = t.gfpScopeMask;
  t.gfpScopeMask |= PF_MEMALLOC_NOIO;
  return old;
}

/** `memalloc_noio_restore`. @kernel memalloc_noio_restore */
export function memallocNoioRestore(k: Kernel, cookie: number): void {
  k.current.gfpScopeMask = cookie;
}

/** `current_gfp_context`: the mask after the task's scoped restrictions. @kernel current_gfp_context */
export function currentGfpContext(t: Thread, gfp: number): number {
  return gfp & ~t.gfpScopeMask;
}

/**
 * The reclaim pseudo-locks (`__fs_reclaim_map` and
 * `__mmu_notifier_invalidate_range_start_map`). Global classes: every kernel
 * instance's maps share the same keys, so lockdep sees one class each.
 */
export interface ReclaimMaps {
  readonly fsReclaim: LockdepMap;
  readonly mmuNotifier: LockdepMap;
}

const reclaimMaps = new WeakMap<Kernel, ReclaimMaps>();

/**
 * The reclaim pseudo-locks of kernel `k`.
 *
 * @kernel __fs_reclaim_map, __mmu_notifier_invalidate_range_start_map
 */
export function reclaimMapsOf(k: Kernel): ReclaimMaps {
  let m = reclaimMaps.get(k);
  if (!m) {
    m = {
      fsReclaim: new LockdepMap('fs_reclaim', 'fs_reclaim', LdWait.INV),
      mmuNotifier: new LockdepMap('mmu_notifier_invalidate_range_start', 'mmu_notifier_invalidate_range_start', LdWait.INV),
    };
    reclaimMaps.set(k, m);
  }
  return m;
}

/** Whether the kernel models `CONFIG_MMU_NOTIFIER` (on by default, as on distro and GPU kernels). */
export const mmuNotifierConfig = new WeakMap<Kernel, boolean>();

function reclaimApplies(t: Thread, gfp: number): boolean {
  const g = currentGfpContext(t, gfp);
  if ((g & GFP.__GFP_DIRECT_RECLAIM) === 0) return false;
  if (t.inReclaim) return false;
  return (g & GFP.__GFP_NOLOCKDEP) === 0;
}

/**
 * `fs_reclaim_acquire(gfp)`: enter (pseudo) reclaim. With `__GFP_FS` the
 * `fs_reclaim` map is taken exclusively; the MMU-notifier map is taken and
 * released (it is what NOFS/NOIO allocations still depend on).
 *
 * @kernel fs_reclaim_acquire (mm/page_alloc.c)
 */
export function fsReclaimAcquire(k: Kernel, gfp: number): void {
  const t = k.current;
  if (!reclaimApplies(t, gfp)) return;
  const maps = reclaimMapsOf(k);
  if ((currentGfpContext(t, gfp) & GFP.__GFP_FS) !== 0) k.lockAcquire(maps.fsReclaim, 0, false, 0, true, null, t);
  if (mmuNotifierConfig.get(k) ?? true) {
    k.lockAcquire(maps.mmuNotifier, 0, false, 0, true, null, t);
    k.lockRelease(maps.mmuNotifier, t);
  }
}

/** `fs_reclaim_release(gfp)`. @kernel fs_reclaim_release */
export function fsReclaimRelease(k: Kernel, gfp: number): void {
  const t = k.current;
  if (!reclaimApplies(t, gfp)) return;
  if ((currentGfpContext(t, gfp) & GFP.__GFP_FS) !== 0) k.lockRelease(reclaimMapsOf(k).fsReclaim, t);
}

/**
 * `might_alloc(gfp)`: record the reclaim dependency (every held lock →
 * `fs_reclaim`) and `might_sleep_if(gfpflags_allow_blocking(gfp))`.
 *
 * @kernel might_alloc (include/linux/sched/mm.h)
 */
export function mightAlloc(k: Kernel, gfp: number): void {
  fsReclaimAcquire(k, gfp);
  fsReclaimRelease(k, gfp);
  if (gfpAllowsBlocking(gfp)) k.mightSleep('might_alloc');
}

/**
 * A block of simulated kernel memory. With the KASAN checker installed
 * (`kernel.hb`) it is registered at allocation and poisoned by `kfree`.
 *
 * @kernel none: a kmalloc'd object as the model tracks it (id, size, KASAN state)
 */
export class KBuffer {
  freed = false;
  constructor(
    readonly id: number,
    readonly size: number,
    readonly gfp: number,
    readonly site: string,
  ) {}
}

/** Allocation ids count per kernel, so two runs in one process number their buffers alike. */
const allocIds = new WeakMap<Kernel, number>();

/**
 * The next allocation id of `k` (`KBuffer.id`).
 *
 * @kernel none: model bookkeeping
 */
export function nextAllocId(k: Kernel): number {
  const id = (allocIds.get(k) ?? 0) + 1;
  allocIds.set(k, id);
  return id;
}

/**
 * `kmalloc`: allocate `size` bytes. Synchronous, as in the kernel; an
 * allocation that may reclaim is a lockdep acquisition of `fs_reclaim`
 * rather than a scheduling point (a deliberate difference: reclaim's
 * deadlocks are found from the dependency graph, which needs no interleaving).
 * Returns null when the chooser injects a failure (never with `__GFP_NOFAIL`).
 *
 * @kernel kmalloc, kzalloc, kvmalloc (mm/slub.c)
 */
export function kmalloc(k: Kernel, size: number, gfp: number, site?: string): KBuffer | null {
  return allocAt(k, 'kmalloc', size, gfp, site ?? 'kmalloc', site ?? (k.captureStacks ? callerSite(1) : 'kmalloc'));
}

/**
 * `KMALLOC_MAX_SIZE` with SLUB on x86-64: 2^(MAX_PAGE_ORDER + PAGE_SHIFT) =
 * 4 MiB. A larger `kmalloc` asks the page allocator for an order above
 * MAX_PAGE_ORDER, which WARNs (unless `__GFP_NOWARN`) and returns NULL.
 *
 * @kernel KMALLOC_MAX_SIZE (include/linux/slab.h)
 */
export const KMALLOC_MAX_SIZE = 1 << 22;

/**
 * The largest `kvmalloc`: `INT_MAX` bytes (larger sizes WARN and return NULL).
 *
 * @kernel kvmalloc_node (mm/util.c): size > INT_MAX
 */
export const KVMALLOC_MAX_SIZE = INT_MAX;

/**
 * The allocation itself. The injection site and the event use `where` (the
 * site as given), never the captured source line `shown`: a replay with
 * stacks on must see the same schedule and the same events.
 */
function allocAt(k: Kernel, fn: 'kmalloc' | 'kzalloc' | 'kvmalloc', size: number, gfp: number, where: string, shown: string): KBuffer | null {
  wholeArg(`${fn}(k, size, gfp)`, 'size', size, 'of bytes (size_t)');
  wholeArg(`${fn}(k, size, gfp)`, 'gfp', gfp, '(a GFP_* mask, gfp_t)', U32_MAX);
  const max = fn === 'kvmalloc' ? KVMALLOC_MAX_SIZE : KMALLOC_MAX_SIZE;
  if (size > max) {
    // The page allocator refuses the order before any reclaim or fault injection.
    if ((gfp & GFP.__GFP_NOWARN) === 0) {
      k.splat({
        rule: 'mm.kmalloc_too_large',
        severity: 'warn',
        headline:
          fn === 'kvmalloc'
            ? `WARNING: at mm/util.c kvmalloc_node: ${size} bytes is more than INT_MAX`
            : `WARNING: at mm/page_alloc.c __alloc_pages: order ${pageOrder(size)} > MAX_PAGE_ORDER (10)`,
        body: `${fn}(${size}, ${gfpName(gfp)}) at ${shown}: more than ${fn === 'kvmalloc' ? 'INT_MAX' : `KMALLOC_MAX_SIZE (${KMALLOC_MAX_SIZE} bytes)`}; the allocation returns NULL.`,
        data: { size, max, site: where },
      });
    }
    if (k.events.active) k.emit('alloc', { size, gfp: gfpName(gfp), ok: false, site: where });
    return null;
  }
  mightAlloc(k, gfp);
  const fail = (gfp & GFP.__GFP_NOFAIL) === 0 && k.inject('alloc', where);
  if (k.events.active) k.emit('alloc', { size, gfp: gfpName(gfp), ok: !fail, site: where });
  if (fail) return null;
  const buf = new KBuffer(nextAllocId(k), size, gfp, shown);
  k.hb?.alloc(buf, { what: `kmalloc-${size} object ${buf.id}`, size, fn: where });
  return buf;
}

/** `get_order(size)` with 4 KiB pages. */
function pageOrder(size: number): number {
  let order = 0;
  while (4096 * 2 ** order < size) order++;
  return order;
}

/**
 * `kzalloc`: zeroed `kmalloc`.
 *
 * @kernel kzalloc
 */
export function kzalloc(k: Kernel, size: number, gfp: number, site?: string): KBuffer | null {
  return allocAt(k, 'kzalloc', size, gfp | GFP.__GFP_ZERO, site ?? 'kzalloc', site ?? (k.captureStacks ? callerSite(1) : 'kzalloc'));
}

/**
 * `kvmalloc`: may fall back to vmalloc (so up to INT_MAX bytes); same rules as `kmalloc` otherwise.
 *
 * @kernel kvmalloc
 */
export function kvmalloc(k: Kernel, size: number, gfp: number, site?: string): KBuffer | null {
  return allocAt(k, 'kvmalloc', size, gfp, site ?? 'kvmalloc', site ?? (k.captureStacks ? callerSite(1) : 'kvmalloc'));
}

/**
 * `kfree`: free a buffer (or a driver struct from `kstruct`); a double free
 * is a BUG splat. `null` is ignored, as in the kernel. With KASAN on, the
 * memory is poisoned: any later access to it, and any access by another
 * thread not ordered before this free, is `kasan.slab_use_after_free`;
 * freeing a struct holding a lock the caller holds is `held lock freed!`.
 *
 * @kernel kfree
 */
export function kfree(k: Kernel, buf: KBuffer | null): void {
  if (buf === null) return;
  if (buf.freed) {
    k.splat({
      rule: 'mm.double_free',
      severity: 'bug',
      headline: 'BUG: KASAN: double-free',
      body: `object ${buf.id} of size ${buf.size} allocated at ${buf.site} freed twice`,
    });
    return;
  }
  k.hb?.free(k.currentOrNull, buf, 'kfree');
  buf.freed = true;
}
