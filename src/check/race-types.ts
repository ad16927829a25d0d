/**
 * The records the race detector and KASAN keep: one per remembered access
 * (an epoch plus what reports need), one per allocation, one per sync
 * object, and the shadow of each instrumented location.
 */
import type { AccessKind, AllocInfo, Backtrace, MemLoc, Thread } from '../kernel/index.ts';
import type { VClock } from './vclock.ts';

/**
 * One remembered access: FastTrack's epoch (`clock`@`slot`) and, for
 * reports, who made it, how, where and when. Records are updated in place
 * when the same thread accesses again, so a hot loop allocates nothing.
 *
 * @kernel none: FastTrack's epoch per access (KCSAN samples with watchpoints instead)
 */
export class AccessRec {
  constructor(
    public slot: number,
    public clock: number,
    public thread: Thread,
    public kind: AccessKind,
    /** The accessing kernel function (model objects), or null. */
    public fn: string | null,
    /** Source site when stacks are captured. */
    public site: string | null,
    public step: number,
    public timeNs: number,
    /** The access's backtrace when stacks are captured. */
    public stack: Backtrace | null = null,
  ) {}

  /** A copy that later in-place updates do not change (for reports). */
  copy(): AccessRec {
    return new AccessRec(this.slot, this.clock, this.thread, this.kind, this.fn, this.site, this.step, this.timeNs, this.stack);
  }
}

/** Where and by whom an object was freed. */
export interface FreeRec {
  readonly thread: Thread | null;
  readonly fn: string;
  readonly site: string | null;
  readonly stack: Backtrace | null;
  readonly step: number;
  readonly timeNs: number;
  /** The freer's epoch at the free (slot 0: freed outside any thread). */
  readonly slot: number;
  readonly clock: number;
}

/**
 * One allocation (KASAN's object): what it is, where it was allocated,
 * where it was freed, and the locations that belong to it (for the
 * free-race check).
 *
 * @kernel none: KASAN's view of one object, its alloc and free tracks (struct kasan_alloc_meta, kasan_free_meta)
 */
export class Life {
  /** Locations of the object that have a shadow (were accessed). */
  readonly locs: MemLoc[] = [];
  freed: FreeRec | null = null;
  /** Access labels already reported for this object (one report each). */
  readonly reported = new Set<string>();
  /**
   * Accesses found racing with a later one: the shadows drop them once a
   * write supersedes them, but they stay unordered, so the free checks them.
   */
  readonly racy: { loc: MemLoc; a: AccessRec }[] = [];

  constructor(
    readonly info: AllocInfo,
    /** The whole object, for API-level uses (`HbChecker.touch`). */
    readonly body: MemLoc,
    readonly thread: Thread | null,
    readonly site: string | null,
    readonly step: number,
    readonly timeNs: number,
    /** The allocation's backtrace when stacks are captured. */
    readonly stack: Backtrace | null = null,
  ) {}
}

/**
 * A sync object's clocks: exclusive releases, shared (reader) releases, and the allocation holding it.
 *
 * @kernel none: vector clocks of a synchronising object (happens-before; KCSAN has none)
 */
export class SyncRec {
  vc: VClock = [];
  rvc: VClock | null = null;
  owner: Life | null = null;
}

/**
 * The shadow of one location: the last plain write (plain writes are
 * totally ordered unless a race was already reported), and the marked
 * writes, plain reads and marked reads that are not yet known to be ordered
 * before the next conflicting access (usually one entry each).
 *
 * @kernel none: FastTrack's shadow state of a location (KASAN's shadow holds only the poison)
 */
export class Shadow {
  w: AccessRec | null = null;
  readonly wm: AccessRec[] = [];
  readonly r: AccessRec[] = [];
  readonly rm: AccessRec[] = [];
  constructor(readonly life: Life | null) {}
}
