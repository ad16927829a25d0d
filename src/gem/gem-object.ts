import { initWork, Kref, scheduleWork } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import { DmaResv } from '../resv/index.ts';
import type { Awaitable } from '../kernel/index.ts';
import type { DmaBuf, DmaBufAttachment, IosysMap, SgTable, Vma } from '../buf/index.ts';
import { DMA_BIDIRECTIONAL } from '../pci/index.ts';
import type { DrmDevice } from './forward.ts';

/**
 * `struct drm_gem_object_funcs`: per-object callbacks. `getSgTable` is what
 * PRIME export maps for importers; `pin`/`unpin` run at attach/detach.
 *
 * @kernel struct drm_gem_object_funcs (include/drm/drm_gem.h)
 */
export interface DrmGemObjectFuncs {
  /** `free`: the last reference went. Synchronous. */
  free?(obj: DrmGemObject): void;
  /** `export`: default `drmGemPrimeExport`. */
  export?(obj: DrmGemObject, flags: number): DmaBuf | number;
  pin?(obj: DrmGemObject): Awaitable<number>;
  unpin?(obj: DrmGemObject): Awaitable<void>;
  /** `get_sg_table`: the pages as an sg table (not yet DMA mapped). */
  getSgTable?(obj: DrmGemObject): SgTable | number;
  vmap?(obj: DrmGemObject): Awaitable<IosysMap | number>;
  vunmap?(obj: DrmGemObject, map: IosysMap): Awaitable<void>;
  mmap?(obj: DrmGemObject, vma: Vma): Awaitable<number>;
}

/** Options of `drm_gem_object_init`. */
export interface DrmGemObjectInit {
  /** Share this reservation object (e.g. an imported dma-buf's) instead of the embedded one. */
  resv?: DmaResv;
  /**
   * Share `parent`'s reservation object and keep `parent` alive for this
   * object's lifetime (Xe's backup object; Rust's `parent_resv_obj`).
   */
  parent?: DrmGemObject;
  name?: string;
}

const objIds = new WeakMap<Kernel, number>();

/**
 * `struct drm_gem_object`: size, reference count, handle count, the
 * reservation object (`obj->resv`: the embedded `_resv` unless shared), the
 * exported dma-buf cache (`dma_buf`), and for imported objects the
 * attachment (`import_attach`) and its mapping.
 *
 * Objects sharing a resv are locked and fenced as one: lock either and both
 * are locked; fences added through either are seen through both; reserve
 * slots per resv, not per object. A child created with a parent's resv
 * holds a reference on the parent, so dropping the parent first never
 * finalizes the shared resv under the child.
 *
 * Constructing it is `drm_gem_private_object_init` / `drm_gem_object_init`.
 *
 * @kernel struct drm_gem_object, drm_gem_object_init, drm_gem_object_get/put, drm_gem_object_release (drivers/gpu/drm/drm_gem.c)
 */
export class DrmGemObject {
  readonly refcount: Kref;
  /** `handle_count`: handles in all files. */
  handleCount = 0;
  /** `obj->resv`. */
  readonly resv: DmaResv;
  /** `obj->_resv`: the embedded one, null when the object shares another's. */
  private readonly ownResv: DmaResv | null;
  /** Holds a reference on the object whose resv this one shares. */
  readonly parent: DrmGemObject | null;
  /** `obj->dma_buf`: the dma-buf exported for (or imported as) this object, with a reference. */
  dmaBuf: DmaBuf | null = null;
  /** `obj->import_attach`. */
  importAttach: DmaBufAttachment | null = null;
  /** The table mapped at import (`drm_prime_gem_destroy` unmaps it). */
  importSgt: SgTable | null = null;
  readonly id: number;
  readonly name: string;
  /** Set once freed. */
  freed = false;

  constructor(
    readonly dev: DrmDevice,
    readonly size: number,
    readonly funcs: DrmGemObjectFuncs = {},
    opts: DrmGemObjectInit = {},
  ) {
    const k = dev.kernel;
    const id = (objIds.get(k) ?? 0) + 1;
    objIds.set(k, id);
    this.id = id;
    this.name = opts.name ?? `${dev.name}/gem#${id}`;
    this.refcount = new Kref(k, `drm_gem_object ${this.name}`);
    if (opts.parent && opts.resv && opts.resv !== opts.parent.resv) {
      throw new Error('DrmGemObject: `resv` and `parent` name different reservation objects');
    }
    if (opts.parent) {
      opts.parent.get();
      this.parent = opts.parent;
      this.resv = opts.parent.resv;
      this.ownResv = null;
    } else if (opts.resv) {
      this.parent = null;
      this.resv = opts.resv;
      this.ownResv = null;
    } else {
      this.parent = null;
      this.ownResv = new DmaResv(k, `${this.name}:resv`);
      this.resv = this.ownResv;
    }
  }

  get kernel(): Kernel {
    return this.dev.kernel;
  }

  /** The object shares a resv it does not own. */
  get sharesResv(): boolean {
    return this.ownResv === null;
  }

  /** `drm_gem_object_get`. */
  get(): this {
    this.refcount.get();
    return this;
  }

  /**
   * `drm_gem_object_put`: the last reference frees the object (`funcs.free`,
   * the embedded resv, the parent's reference). An imported object's
   * teardown (unmap, detach, dma-buf put: `drm_prime_gem_destroy`) sleeps,
   * so it runs from a work item (a deliberate difference: put is synchronous
   * in the model).
   */
  put(): void {
    this.refcount.put(() => {
      this.release();
    });
  }

  private release(): void {
    this.freed = true;
    this.funcs.free?.(this);
    const attach = this.importAttach;
    if (attach) {
      const sgt = this.importSgt;
      const dmabuf = attach.dmabuf;
      const work = initWork(
        this.kernel,
        async () => {
          if (sgt) await attach.unmapAttachmentUnlocked(sgt, DMA_BIDIRECTIONAL);
          await dmabuf.detach(attach);
          dmabuf.put();
        },
        'drm_prime_gem_destroy',
        { key: 'drm_prime_gem_destroy' },
      );
      scheduleWork(work);
    }
    // drm_gem_object_release: only the embedded resv is this object's to finalize.
    this.ownResv?.fini();
    this.parent?.put();
  }

  toString(): string {
    return `drm_gem_object ${this.name}`;
  }
}

/**
 * The reservation objects of `objs` without duplicates, in first-seen
 * order: objects that share a resv (a BO and its backup) count once, so a
 * fence is reserved and added once per resv and dependencies are collected
 * once (Xe's "compare resv pointers, not BO pointers").
 *
 * @kernel none: what drivers open-code (Xe compares resv pointers; drm_exec skips a resv already locked, -EALREADY)
 */
export function drmGemUniqueResvs(objs: readonly DrmGemObject[]): DmaResv[] {
  const out: DmaResv[] = [];
  for (const o of objs) if (!out.includes(o.resv)) out.push(o.resv);
  return out;
}
