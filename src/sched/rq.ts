import type { DrmSchedEntity, DrmGpuScheduler } from './forward.ts';
import { Ewma } from './types.ts';
import type { DrmSchedPolicy, DrmSchedPriority } from './types.ts';

/**
 * Per-entity accounting of the fair policy. Jobs keep a reference because
 * an entity may be destroyed while its jobs still run (the model relies on
 * the GC for that reference).
 *
 * @kernel struct drm_sched_entity_stats
 */
export class DrmSchedEntityStats {
  /** GPU time of the entity's freed jobs, ns. */
  runtime = 0;
  /** `runtime` when the virtual runtime was last advanced. */
  prevRuntime = 0;
  /** Virtual runtime (tree key), ns. */
  vruntime = 0;
  /** Relative vruntime saved when the entity left the tree. */
  savedRel = 0;
  /** EWMA of the entity's job duration, µs. */
  readonly avgJobUs = new Ewma();
}

/**
 * GPU time is scaled by `2^shift[priority]` into virtual runtime: about 2x
 * KERNEL vs HIGH, 4x HIGH vs NORMAL, 8x NORMAL vs LOW.
 *
 * @kernel drm_sched_prio_shifts (sched_rq.c, fair series)
 */
export const FAIR_SHIFT: readonly number[] = [1, 2, 4, 7];

/**
 * `struct drm_sched_rq`: the entities attached to one run queue and the
 * ordered set of those that are runnable.
 *
 * The kernel keeps an rbtree of every entity with queued jobs, including
 * those blocked on a dependency, and selection walks it from the leftmost
 * node to the first ready one. The model keeps blocked entities out of the
 * tree ("parked", their key and tie-break sequence kept) and puts them back
 * when their dependency signals, so selection is the tree minimum: the same
 * order, without the walk over blocked entities (a deliberate difference
 * that keeps selection O(log n) in the number of entities). The tree is a
 * binary heap ordered by (key, insertion sequence): ties go after existing
 * equal keys, as in the kernel.
 *
 * Policies: `fair` keys entities by virtual runtime; `fifo` by the push
 * order of the head job (the kernel's strictly increasing `submit_ts`); `rr` by a per-queue stamp bumped at every pop (the
 * interim fair series' re-implementation of round-robin as FIFO with a fake
 * timestamp; the legacy list walk was O(n)).
 *
 * @kernel struct drm_sched_rq, drm_sched_rq_add_entity, drm_sched_rq_remove_entity, drm_sched_rq_pop_entity, drm_sched_rq_select_entity
 */
export class DrmSchedRq {
  /** Entities attached to this run queue (`rq->entities`). */
  readonly entities = new Set<DrmSchedEntity>();
  /** Priority of the leftmost entity, or -1 (`head_prio`, fair only). */
  headPrio = -1;
  private readonly heap: DrmSchedEntity[] = [];
  private seq = 0;
  private rrStamp = 0;

  constructor(
    readonly sched: DrmGpuScheduler,
    readonly policy: DrmSchedPolicy,
    /** Legacy per-priority queues: the priority this queue serves. */
    readonly priority: DrmSchedPriority | null,
  ) {}

  /** Entities in the tree (runnable or about to be tried). */
  get treeSize(): number {
    return this.heap.length;
  }

  /**
   * `drm_sched_rq_add_entity`: attach `entity` (score +1 on first attach) and
   * insert it in the tree with its policy key. Called on the first push into
   * an empty entity queue, under the entity lock.
   */
  addEntity(entity: DrmSchedEntity, submitKey: number): void {
    if (!this.entities.has(entity)) {
      this.entities.add(entity);
      this.sched.scoreInc();
    }
    if (entity.rqHeapIndex >= 0 || entity.rqParked) return;
    let key: number;
    switch (this.policy) {
      case 'fair':
        key = this.fairJoinKey(entity);
        break;
      case 'fifo':
        key = submitKey;
        break;
      case 'rr':
        key = this.rrStamp;
        break;
    }
    this.insert(entity, key);
  }

  /** `drm_sched_rq_remove_entity`: detach (score -1) and take it out of the tree. */
  removeEntity(entity: DrmSchedEntity): void {
    if (!this.entities.delete(entity)) return;
    this.sched.scoreDec();
    this.heapRemove(entity);
    entity.rqParked = false;
  }

  /**
   * `drm_sched_rq_pop_entity`: after a job was popped from `entity`, re-key it
   * (more jobs queued) or take it out of the tree (queue empty).
   */
  popEntity(entity: DrmSchedEntity, nextSubmitKey: number | null): void {
    this.heapRemove(entity);
    entity.rqParked = false;
    if (this.policy === 'rr') this.rrStamp++;
    if (nextSubmitKey === null) {
      if (this.policy === 'fair') {
        const st = entity.stats;
        const min = this.minVruntime();
        st.savedRel = st.vruntime && min && st.vruntime > min ? st.vruntime - min : 0;
        this.refreshHeadPrio();
      }
      return;
    }
    let key: number;
    switch (this.policy) {
      case 'fair': {
        const st = entity.stats;
        st.vruntime += (st.runtime - st.prevRuntime) * 2 ** FAIR_SHIFT[entity.priority]!;
        st.prevRuntime = st.runtime;
        key = st.vruntime;
        break;
      }
      case 'fifo':
        key = nextSubmitKey;
        break;
      case 'rr':
        key = this.rrStamp;
        break;
    }
    this.insert(entity, key);
  }

  /** An entity's head job is blocked on a dependency: leave the tree, keeping the key. */
  park(entity: DrmSchedEntity): void {
    if (entity.rqHeapIndex < 0) return;
    this.heapRemove(entity);
    entity.rqParked = true;
  }

  /** The dependency signalled: back in the tree at the same place. */
  unpark(entity: DrmSchedEntity): void {
    if (!entity.rqParked) return;
    entity.rqParked = false;
    if (!this.entities.has(entity) || entity.stopped || entity.jobQueue.length === 0) return;
    this.heapPush(entity);
    if (this.policy === 'fair') this.refreshHeadPrio();
  }

  /**
   * The first runnable entity (`drm_sched_rq_select_entity`), or null. The
   * credit check is the scheduler's.
   */
  peek(): DrmSchedEntity | null {
    return this.heap[0] ?? null;
  }

  private fairJoinKey(entity: DrmSchedEntity): number {
    const st = entity.stats;
    const min = this.minVruntime();
    let rel = st.savedRel;
    const head = this.heap[0];
    if (rel === 0 && head) {
      const hp = this.headPrio >= 0 ? this.headPrio : head.priority;
      const prio = entity.priority;
      if (prio > hp) {
        rel = (1 + st.avgJobUs.read() + this.sched.avgJobUs.read()) * 2 ** FAIR_SHIFT[prio]! * 1000;
      } else if (prio < hp) {
        rel = -(hp - prio);
      } else {
        rel = st.avgJobUs.read() <= this.sched.avgJobUs.read() ? -1 : 1;
      }
    }
    st.savedRel = 0;
    st.vruntime = min + rel;
    return st.vruntime;
  }

  private minVruntime(): number {
    return this.heap[0]?.stats.vruntime ?? 0;
  }

  private refreshHeadPrio(): void {
    this.headPrio = this.heap[0]?.priority ?? -1;
  }

  private insert(entity: DrmSchedEntity, key: number): void {
    entity.rqKey = key;
    entity.rqSeq = this.seq++;
    this.heapPush(entity);
    if (this.policy === 'fair') this.refreshHeadPrio();
  }

  // ------------------------------------------------------------ binary heap

  private less(a: DrmSchedEntity, b: DrmSchedEntity): boolean {
    return a.rqKey < b.rqKey || (a.rqKey === b.rqKey && a.rqSeq < b.rqSeq);
  }

  private heapPush(e: DrmSchedEntity): void {
    const h = this.heap;
    e.rqHeapIndex = h.length;
    h.push(e);
    this.up(e.rqHeapIndex);
  }

  private heapRemove(e: DrmSchedEntity): void {
    const i = e.rqHeapIndex;
    if (i < 0) return;
    const h = this.heap;
    const last = h.pop()!;
    e.rqHeapIndex = -1;
    if (last !== e) {
      h[i] = last;
      last.rqHeapIndex = i;
      this.down(i);
      this.up(last.rqHeapIndex);
    }
    if (this.policy === 'fair') this.refreshHeadPrio();
  }

  private up(i: number): void {
    const h = this.heap;
    const e = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = h[p]!;
      if (!this.less(e, pe)) break;
      h[i] = pe;
      pe.rqHeapIndex = i;
      i = p;
    }
    h[i] = e;
    e.rqHeapIndex = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const e = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[r]!, h[l]!) ? r : l;
      const ce = h[c]!;
      if (!this.less(ce, e)) break;
      h[i] = ce;
      ce.rqHeapIndex = i;
      i = c;
    }
    h[i] = e;
    e.rqHeapIndex = i;
  }
}
