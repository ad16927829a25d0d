import type { DmaFence } from '../fence/index.ts';
import type { DmaResvList } from './list.ts';
import type { DmaResv } from './forward.ts';
import { checkUsage, DmaResvUsage } from './usage.ts';

/**
 * `struct dma_resv_iter`: a cursor over a reservation object's fences with
 * usage `usage` or stronger. Constructing it is `dma_resv_iter_begin`;
 * `end()` is `dma_resv_iter_end` (drops the reference an unlocked walk holds).
 *
 * Two walks:
 * - locked (`first`/`next`, or `locked()`): lock asserted; every entry in
 *   table order, signalled ones included, no references taken.
 * - unlocked (`firstUnlocked`/`nextUnlocked`, or `unlocked()`): no lock;
 *   yields only unsignalled fences (checking may signal them), each held by
 *   a reference until the next step. If the object published a new table
 *   since the walk started (reserve with growth or compaction, copy), or a
 *   fence's refcount already reached zero, the walk restarts from index 0
 *   and `isRestarted` is true for the next fence (it is also true for the
 *   first one). Consumers accumulating results must discard them on restart.
 *
 * In the model code between two awaits is atomic, so a table change can only
 * happen while the consumer awaits between two steps, exactly the window in
 * which the kernel's reader is outside its RCU section.
 *
 * @kernel struct dma_resv_iter, dma_resv_iter_first[_unlocked], dma_resv_iter_next[_unlocked], dma_resv_for_each_fence[_unlocked]
 */
export class DmaResvIter {
  /** The fence of the current unlocked step (referenced), null otherwise. */
  fence: DmaFence | null = null;
  /** `dma_resv_iter_usage`: usage of the current entry. */
  fenceUsage: DmaResvUsage = DmaResvUsage.KERNEL;
  index = 0;
  /** The table being walked (a snapshot for unlocked walks). */
  fences: DmaResvList | null = null;
  /** Entries in the snapshot when it was taken (unlocked walks). */
  numFences = 0;
  /** The object's publication count when the snapshot was taken (the seqcount read side). */
  seq = -1;
  /** `dma_resv_iter_is_restarted`. */
  isRestarted = false;
  /** Restarts caused by a concurrent change (model statistic, not in the kernel). */
  restarts = 0;

  constructor(
    readonly obj: DmaResv,
    readonly usage: DmaResvUsage,
  ) {
    checkUsage(usage, 'dma_resv_iter_begin');
  }

  /** `dma_resv_iter_end`: drop the current unlocked reference. */
  end(): void {
    this.fence?.put();
    this.fence = null;
  }

  // ---------------------------------------------------------------- unlocked

  /** `dma_resv_iter_first_unlocked`: the first unsignalled fence, or null. */
  firstUnlocked(): DmaFence | null {
    do {
      this.restartUnlocked();
      this.walkUnlocked();
    } while (this.changed());
    return this.fence;
  }

  /** `dma_resv_iter_next_unlocked`: the next unsignalled fence, restarting if the table changed; null at the end. */
  nextUnlocked(): DmaFence | null {
    this.isRestarted = false;
    let restart = this.changed();
    do {
      if (restart) {
        this.noteRestart();
        this.restartUnlocked();
      }
      this.walkUnlocked();
      restart = true;
    } while (this.changed());
    return this.fence;
  }

  /** `dma_resv_for_each_fence_unlocked`: call `end()` afterwards (also after breaking out). */
  *unlocked(): Generator<DmaFence, void, undefined> {
    for (let f = this.firstUnlocked(); f; f = this.nextUnlocked()) yield f;
  }

  /** A new table was published since the snapshot (`dma_resv_fences_list(obj) != cursor->fences`). */
  private changed(): boolean {
    return this.obj.seq !== this.seq;
  }

  private restartUnlocked(): void {
    this.seq = this.obj.seq;
    this.index = 0;
    this.numFences = 0;
    this.fences = this.obj.fences;
    if (this.fences) this.numFences = this.fences.numFences;
    this.isRestarted = true;
  }

  private walkUnlocked(): void {
    const list = this.fences;
    if (!list) return;
    for (;;) {
      this.fence?.put();
      if (this.index >= this.numFences) {
        this.fence = null;
        return;
      }
      const i = this.index++;
      this.fenceUsage = list.usage(i);
      this.fence = list.fence(i).getRcu();
      if (!this.fence) {
        // Released under us: the entry was replaced, start over on the current table.
        this.noteRestart();
        this.restartUnlocked();
        continue;
      }
      if (!this.fence.isSignaled() && this.usage >= this.fenceUsage) return;
    }
  }

  private noteRestart(): void {
    this.restarts++;
    const k = this.obj.kernel;
    if (k.events.active) k.emit('resv-iter-restart', { resv: this.obj.name, index: this.index });
  }

  // ------------------------------------------------------------------ locked

  /** `dma_resv_iter_first`: lock held; the first entry of `usage` or stronger, signalled ones included. */
  first(): DmaFence | null {
    this.obj.assertHeld('dma_resv_iter_first');
    this.index = 0;
    this.fences = this.obj.fences;
    const f = this.next();
    this.isRestarted = true;
    return f;
  }

  /** `dma_resv_iter_next`: lock held; the next entry, or null. No reference is taken. */
  next(): DmaFence | null {
    this.obj.assertHeld('dma_resv_iter_next');
    this.isRestarted = false;
    let f: DmaFence;
    do {
      const list = this.fences;
      if (!list || this.index >= list.numFences) return null;
      const i = this.index++;
      f = list.fence(i);
      this.fenceUsage = list.usage(i);
    } while (this.fenceUsage > this.usage);
    return f;
  }

  /** `dma_resv_for_each_fence`: lock held for the whole walk. */
  *locked(): Generator<DmaFence, void, undefined> {
    for (let f = this.first(); f; f = this.next()) yield f;
  }
}
