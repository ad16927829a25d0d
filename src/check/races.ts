/**
 * The happens-before race detector (KCSAN / ThreadSanitizer class) and
 * KASAN-style object lifetimes, judged from the run's history rather than
 * from the one interleaving that happened.
 *
 * Every simulated thread and context has a vector clock; sync objects
 * (locks, fences, completions, work items, ...) carry the clock of their last
 * releases; the kernel primitives call `acquire` / `release` at their sync
 * points (see `src/kernel/hb.ts`). Every instrumented location keeps
 * FastTrack's epochs of its last accesses, so an access by the thread that
 * made the previous one, with no synchronisation since, costs O(1).
 *
 * - Data race (`kcsan.data_race`): two accesses to one location, at least
 *   one a write and at least one plain (unmarked), with no happens-before
 *   edge between them, whichever ran first and however far apart. This is
 *   KCSAN's strict rule (`CONFIG_KCSAN_STRICT`): marked accesses
 *   (READ_ONCE / WRITE_ONCE, atomics, RCU accessors) never race with each
 *   other, and a plain access racing with a marked one is reported.
 * - Use after free (`kasan.slab_use_after_free`): an access to a freed
 *   object (it is poisoned), or an access by another thread that is not
 *   ordered before the free even though it ran first in this run.
 * - `held lock freed!` when memory holding a lock the freeing thread holds
 *   is freed.
 *
 * Reports are made once per location and pair of accessing functions (per
 * object and accessing function for KASAN).
 *
 * @kernel kernel/kcsan/, mm/kasan/; the algorithm is FastTrack (Flanagan & Freund, PLDI 2009) as in ThreadSanitizer
 */
import { Access, captureStack, MemLoc, siteOfStack } from '../kernel/index.ts';
import type { AccessKind, AllocInfo, Backtrace, HbChecker, Kernel, Thread, TimerEntry } from '../kernel/index.ts';
import { debugCheckNoLocksFreed } from './annotations.ts';
import { baseName, kasanSplat, kcsanSplat } from './race-report.ts';
import { AccessRec, Life, Shadow, SyncRec } from './race-types.ts';
import type { FreeRec } from './race-types.ts';
import { vcCopy, vcGet, vcJoin, vcSet } from './vclock.ts';
import type { VClock } from './vclock.ts';

/**
 * Per-thread state: its vector clock and its slot in every clock. The slot
 * is assigned lazily, at the first thing the thread does that others can
 * see (an access, a release, creating a thread...), so a short-lived context
 * that first acquires its predecessor's history (the previous handler of an
 * IRQ line, the previous run of a timer) can take over that predecessor's
 * slot and clocks stay small.
 */
class ThreadClock {
  /** -1 until assigned. */
  slot = -1;
  /** The largest own clock value others may have seen (accesses, releases). */
  exported = 0;
  constructor(readonly vc: VClock) {}
}

/** How many freed slots a new context looks at for reuse. */
const REUSE_SCAN = 16;

/**
 * The race detector and KASAN for one kernel. Install it with
 * `createCheckedKernel` (on by default) or `new Kernel({ hb: new RaceDetector() })`
 * followed by `detector.attach(k)`.
 *
 * @kernel CONFIG_KCSAN, CONFIG_KASAN
 */
export class RaceDetector implements HbChecker {
  private k: Kernel | null = null;
  private readonly syncs = new WeakMap<object, SyncRec>();
  private readonly lives = new WeakMap<object, Life>();
  private ambient: VClock | null = null;
  private nextSlot = 1;
  /** Slots of exited threads with their final clock, reusable by a context that has seen that clock. */
  private readonly freeSlots: { slot: number; final: number }[] = [];
  private readonly reported = new Set<string>();
  /** Number of reports made (both kinds), for tests and summaries. */
  reports = 0;

  /** Bind to the kernel it serves (once). */
  attach(k: Kernel): this {
    if (k.hb !== this) {
      throw new Error('RaceDetector.attach(k): create the kernel with `new Kernel({ hb: detector })` first, or use createCheckedKernel()');
    }
    if (this.k !== null && this.k !== k) throw new Error('RaceDetector.attach: a detector serves one kernel; create one per run');
    this.k = k;
    return this;
  }

  private kernel(): Kernel {
    if (this.k === null) throw new Error('RaceDetector used before attach(k)');
    return this.k;
  }

  // ------------------------------------------------------------ clocks

  private state(t: Thread): ThreadClock {
    let s = t.hbState as ThreadClock | null;
    if (s === null) {
      s = new ThreadClock([]);
      t.hbState = s;
    }
    return s;
  }

  /** The state of `t` with its slot assigned. */
  private slotted(t: Thread): ThreadClock {
    const s = this.state(t);
    if (s.slot < 0) this.assignSlot(s);
    return s;
  }

  private clockOf(t: Thread | null): VClock | null {
    return t === null ? this.ambient : this.state(t).vc;
  }

  /** Give `s` a slot: a freed one whose last occupant it has seen entirely, else a new one. */
  private assignSlot(s: ThreadClock): void {
    const free = this.freeSlots;
    const vc = s.vc;
    for (let i = free.length - 1, n = 0; i >= 0 && n < REUSE_SCAN; i--, n++) {
      const f = free[i]!;
      // Sound only when this thread has seen everything the old occupant
      // made visible: its accesses are then ordered before all of ours.
      if (vcGet(vc, f.slot) >= f.final) {
        free.splice(i, 1);
        s.slot = f.slot;
        s.exported = f.final;
        vcSet(vc, f.slot, f.final + 1);
        return;
      }
    }
    s.slot = this.nextSlot++;
    vcSet(vc, s.slot, 1);
  }

  /** After `s` made its current epoch visible (a release, a fork, a wake, a timer): a new epoch. */
  private tick(s: ThreadClock): void {
    const c = s.vc[s.slot]!;
    s.exported = c;
    s.vc[s.slot] = c + 1;
  }

  private syncOf(obj: object): SyncRec {
    let s = this.syncs.get(obj);
    if (s === undefined) {
      s = new SyncRec();
      this.syncs.set(obj, s);
    }
    return s;
  }

  acquire(t: Thread | null, sync: object): void {
    const s = this.syncs.get(sync);
    if (s === undefined) return;
    if (s.owner !== null && s.owner.freed !== null && t !== null) this.syncUseAfterFree(t, sync, s.owner, 'acquire');
    if (t === null) return;
    const vc = this.state(t).vc;
    vcJoin(vc, s.vc);
    if (s.rvc !== null) vcJoin(vc, s.rvc);
  }

  release(t: Thread | null, sync: object): void {
    const s = this.syncOf(sync);
    if (s.owner !== null && s.owner.freed !== null && t !== null) this.syncUseAfterFree(t, sync, s.owner, 'release');
    if (t === null) {
      if (this.ambient !== null) vcJoin(s.vc, this.ambient);
      return;
    }
    if (sync === t) {
      this.exit(t, s);
      return;
    }
    const ts = this.slotted(t);
    vcJoin(s.vc, ts.vc);
    this.tick(ts);
  }

  /**
   * Thread exit (`release(t, t)` from the kernel): whoever joins the thread
   * sees all it made visible; its slot becomes reusable, with the last value
   * it exported as the clock a reuser must have seen.
   */
  private exit(t: Thread, s: SyncRec): void {
    const ts = this.state(t);
    if (ts.slot < 0) {
      vcJoin(s.vc, ts.vc);
      return;
    }
    const cur = ts.vc[ts.slot]!;
    ts.vc[ts.slot] = ts.exported;
    vcJoin(s.vc, ts.vc);
    ts.vc[ts.slot] = cur;
    this.freeSlots.push({ slot: ts.slot, final: ts.exported });
  }

  acquireShared(t: Thread | null, sync: object): void {
    const s = this.syncs.get(sync);
    if (s === undefined) return;
    if (s.owner !== null && s.owner.freed !== null && t !== null) this.syncUseAfterFree(t, sync, s.owner, 'acquire');
    if (t !== null) vcJoin(this.state(t).vc, s.vc);
  }

  releaseShared(t: Thread | null, sync: object): void {
    const s = this.syncOf(sync);
    if (s.owner !== null && s.owner.freed !== null && t !== null) this.syncUseAfterFree(t, sync, s.owner, 'release');
    if (t === null) {
      if (this.ambient !== null) vcJoin((s.rvc ??= []), this.ambient);
      return;
    }
    const ts = this.slotted(t);
    vcJoin((s.rvc ??= []), ts.vc);
    this.tick(ts);
  }

  fork(parent: Thread | null, child: Thread): void {
    if (parent === null) {
      child.hbState = new ThreadClock(this.ambient === null ? [] : vcCopy(this.ambient));
      return;
    }
    const ps = this.slotted(parent);
    child.hbState = new ThreadClock(vcCopy(ps.vc));
    this.tick(ps);
  }

  wake(waker: Thread | null, woken: Thread): void {
    if (waker === null) {
      if (this.ambient !== null) vcJoin(this.state(woken).vc, this.ambient);
      return;
    }
    const ws = this.slotted(waker);
    vcJoin(this.state(woken).vc, ws.vc);
    this.tick(ws);
  }

  timerArmed(e: TimerEntry, by: Thread | null): void {
    if (by === null) {
      e.hb = this.ambient === null ? null : vcCopy(this.ambient);
      return;
    }
    const bs = this.slotted(by);
    e.hb = vcCopy(bs.vc);
    this.tick(bs);
  }

  timerFire(e: TimerEntry | null): void {
    this.ambient = e === null ? null : (e.hb as VClock | null);
  }

  /** The clock of `t` (a copy), for tests: whether one thread has seen another's history. */
  clock(t: Thread): readonly number[] {
    return vcCopy(this.state(t).vc);
  }

  /** True when everything `a` made visible so far happens before `b`'s next action. */
  happensBefore(a: Thread, b: Thread): boolean {
    const sa = this.state(a);
    return sa.slot < 0 || sa.exported <= vcGet(this.state(b).vc, sa.slot);
  }

  /** Slots handed out so far (threads and contexts that did something visible, minus reuse). */
  get slots(): number {
    return this.nextSlot - 1;
  }

  // ------------------------------------------------------------ accesses

  private shadowOf(loc: MemLoc): Shadow {
    let sh = loc.shadow as Shadow | null;
    if (sh === null) {
      const life = loc.owner === null ? null : (this.lives.get(loc.owner) ?? null);
      sh = new Shadow(life);
      loc.shadow = sh;
      life?.locs.push(loc);
    }
    return sh;
  }

  access(t: Thread, loc: MemLoc, kind: AccessKind, fn: string | null, site?: string | null): void {
    const ts = this.slotted(t);
    const sh = this.shadowOf(loc);
    this.site = site;
    if (sh.life !== null && sh.life.freed !== null) {
      this.useAfterFree(t, loc, sh.life, kind, fn);
      return;
    }
    const vc = ts.vc;
    const slot = ts.slot;
    const clock = vc[slot]!;
    switch (kind) {
      case Access.READ: {
        if (own(sh.r, slot, clock)) return;
        const w = sh.w;
        let race = w !== null && w.slot !== slot && w.clock > vcGet(vc, w.slot) ? w : null;
        race ??= racing(sh.wm, vc, slot);
        const rec = this.record(sh.r, t, ts, kind, fn);
        if (race !== null) this.race(loc, race, rec);
        return;
      }
      case Access.READ_ONCE: {
        if (own(sh.rm, slot, clock)) return;
        const w = sh.w;
        const race = w !== null && w.slot !== slot && w.clock > vcGet(vc, w.slot) ? w : null;
        const rec = this.record(sh.rm, t, ts, kind, fn);
        if (race !== null) this.race(loc, race, rec);
        return;
      }
      case Access.WRITE: {
        const w = sh.w;
        if (w !== null && w.slot === slot && w.clock === clock) return;
        let race = w !== null && w.slot !== slot && w.clock > vcGet(vc, w.slot) ? w : null;
        race ??= racing(sh.wm, vc, slot);
        race ??= racing(sh.r, vc, slot);
        race ??= racing(sh.rm, vc, slot);
        // The record may be reused below: keep the racing access as it was.
        if (race !== null) race = race.copy();
        this.drop(sh.wm);
        this.drop(sh.r);
        this.drop(sh.rm);
        let rec = w;
        if (rec === null) rec = this.newRec(t, ts, kind, fn);
        else this.fill(rec, t, ts, kind, fn);
        sh.w = rec;
        if (race !== null) this.race(loc, race, rec);
        return;
      }
      case Access.WRITE_ONCE:
      case Access.ATOMIC_RMW: {
        // Marked writes and atomic read-modify-writes: conflict with plain accesses only.
        if (sh.w === null && sh.r.length === 0 && own(sh.wm, slot, clock)) return;
        const w = sh.w;
        let race = w !== null && w.slot !== slot && w.clock > vcGet(vc, w.slot) ? w : null;
        race ??= racing(sh.r, vc, slot);
        if (race !== null) race = race.copy();
        if (w !== null && this.pool.length < 256) this.pool.push(w);
        sh.w = null;
        this.drop(sh.r);
        const rec = this.record(sh.wm, t, ts, kind, fn);
        if (race !== null) this.race(loc, race, rec);
      }
    }
  }

  /** The site given with the access being recorded (undefined: capture one when stacks are on). */
  private site: string | null | undefined = undefined;

  /** Set `rec.stack` and `rec.site` (both null when stacks are not captured). */
  private capture(k: Kernel, rec: AccessRec): void {
    if (!k.captureStacks) {
      rec.stack = null;
      rec.site = null;
      return;
    }
    const st = captureStack();
    rec.stack = st;
    rec.site = this.site !== undefined ? this.site : siteOfStack(st);
  }

  /** Records dropped from shadows, reused (every place that keeps one makes a copy). */
  private readonly pool: AccessRec[] = [];

  private newRec(t: Thread, ts: ThreadClock, kind: AccessKind, fn: string | null): AccessRec {
    const old = this.pool.pop();
    if (old !== undefined) {
      this.fill(old, t, ts, kind, fn);
      return old;
    }
    const k = t.kernel;
    const clock = ts.vc[ts.slot]!;
    ts.exported = clock;
    const rec = new AccessRec(ts.slot, clock, t, kind, fn, null, k.steps, k.nowNs);
    this.capture(k, rec);
    return rec;
  }

  /** Empty `set`, keeping its records for reuse. */
  private drop(set: AccessRec[]): void {
    const pool = this.pool;
    // pop() rather than `length = 0`: the length setter is a slow runtime call in V8.
    for (let a = set.pop(); a !== undefined; a = set.pop()) if (pool.length < 256) pool.push(a);
  }

  private fill(rec: AccessRec, t: Thread, ts: ThreadClock, kind: AccessKind, fn: string | null): void {
    const k = t.kernel;
    const clock = ts.vc[ts.slot]!;
    rec.slot = ts.slot;
    rec.clock = clock;
    ts.exported = clock;
    rec.thread = t;
    rec.kind = kind;
    rec.fn = fn;
    if (k.captureStacks) this.capture(k, rec);
    else if (rec.stack !== null) {
      rec.stack = null;
      rec.site = null;
    }
    rec.step = k.steps;
    rec.timeNs = k.nowNs;
  }

  /** Put this access in `set`: replace this thread's entry, drop entries ordered before it. */
  private record(set: AccessRec[], t: Thread, ts: ThreadClock, kind: AccessKind, fn: string | null): AccessRec {
    const vc = ts.vc;
    if (set.length === 1) {
      // The common case: one entry, this thread's own or one ordered before this access.
      const a = set[0]!;
      if (a.slot === ts.slot || a.clock <= vcGet(vc, a.slot)) {
        this.fill(a, t, ts, kind, fn);
        return a;
      }
    }
    let mine: AccessRec | null = null;
    let j = 0;
    const n = set.length;
    for (let i = 0; i < n; i++) {
      const a = set[i]!;
      if (a.slot === ts.slot) {
        mine = a;
        continue;
      }
      if (a.clock <= vcGet(vc, a.slot)) {
        if (this.pool.length < 256) this.pool.push(a);
        continue;
      }
      set[j++] = a;
    }
    while (set.length > j) set.pop();
    if (mine === null) mine = this.newRec(t, ts, kind, fn);
    else this.fill(mine, t, ts, kind, fn);
    set.push(mine);
    return mine;
  }

  private race(loc: MemLoc, prev: AccessRec, cur: AccessRec): void {
    // Keys never depend on captured sites: a replay with stacks on reports the same splats.
    const a = prev.fn ?? baseName(prev.thread);
    const b = cur.fn ?? baseName(cur.thread);
    // KCSAN filters repeats by the pair of functions; the field (not the instance) keeps distinct races apart.
    const field = loc.name.slice(loc.name.lastIndexOf('->') + 1);
    const key = `kcsan|${field}|${a < b ? `${a}|${b}` : `${b}|${a}`}`;
    const life = (loc.shadow as Shadow).life;
    if (life !== null && life.racy.length < 8) life.racy.push({ loc, a: prev.copy() });
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.reports++;
    const k = this.kernel();
    k.splat(kcsanSplat(loc, prev, cur, k.captureStacks));
  }

  // ------------------------------------------------------------ lifetimes

  alloc(obj: object, info: AllocInfo): void {
    const k = this.kernel();
    const t = k.currentOrNull;
    const body = new MemLoc(info.what, obj, info.size);
    const st = k.captureStacks ? captureStack() : null;
    const life = new Life(info, body, t, st ? siteOfStack(st) : null, k.steps, k.nowNs, st);
    this.lives.set(obj, life);
    for (const lock of info.locks ?? []) this.syncOf(lock).owner = life;
  }

  isFreed(obj: object): boolean {
    return this.lives.get(obj)?.freed != null;
  }

  touch(t: Thread, obj: object, fn: string, write: boolean): void {
    const life = this.lives.get(obj);
    if (life === undefined) return;
    this.access(t, life.body, write ? Access.WRITE_ONCE : Access.READ_ONCE, fn, undefined);
  }

  free(t: Thread | null, obj: object, fn: string): boolean {
    const life = this.lives.get(obj);
    if (life === undefined || life.freed !== null) return false;
    const k = this.kernel();
    if (t !== null && life.info.locks?.length) debugCheckNoLocksFreed(k, life.info.what, life.info.locks);
    const ts = t === null ? null : this.slotted(t);
    const vc = ts === null ? (this.ambient ?? []) : ts.vc;
    const slot = ts === null ? 0 : ts.slot;
    if (ts !== null) ts.exported = vc[slot]!;
    const free: FreeRec = {
      thread: t,
      fn,
      ...freeSite(k),
      step: k.steps,
      timeNs: k.nowNs,
      slot,
      clock: slot === 0 ? 0 : vc[slot]!,
    };
    // The race form: an access that ran first but is not ordered before this free.
    let first: { loc: MemLoc; a: AccessRec } | null = null;
    for (const loc of life.locs) {
      const sh = loc.shadow as Shadow;
      const w = sh.w;
      const a =
        (w !== null && w.slot !== slot && w.clock > vcGet(vc, w.slot) ? w : null) ??
        racing(sh.wm, vc, slot) ??
        racing(sh.r, vc, slot) ??
        racing(sh.rm, vc, slot);
      if (a !== null) {
        first = { loc, a };
        break;
      }
    }
    for (const x of life.racy) {
      if (first !== null) break;
      if (x.a.slot !== slot && x.a.clock > vcGet(vc, x.a.slot)) first = x;
    }
    life.freed = free;
    if (first !== null) this.kasan(first.loc, first.a.copy(), life, 'before');
    return true;
  }

  private useAfterFree(t: Thread, loc: MemLoc, life: Life, kind: AccessKind, fn: string | null): void {
    const ts = this.slotted(t);
    const rec = this.newRec(t, ts, kind, fn);
    const f = life.freed!;
    // Ordered after the free when this thread has seen the freer's epoch at the free.
    const ordered = f.slot === 0 || f.slot === ts.slot || f.clock <= vcGet(ts.vc, f.slot);
    this.kasan(loc, rec, life, ordered ? 'after' : 'unordered-after');
  }

  private syncUseAfterFree(t: Thread, sync: object, life: Life, op: 'acquire' | 'release'): void {
    this.site = undefined;
    const name = lockName(sync);
    this.useAfterFree(t, new MemLoc(name, null, 8), life, op === 'acquire' ? Access.ATOMIC_RMW : Access.WRITE_ONCE, `${op === 'acquire' ? 'lock' : 'unlock'} of ${name}`);
  }

  private kasan(loc: MemLoc, a: AccessRec, life: Life, relation: 'after' | 'unordered-after' | 'before'): void {
    // As KASAN reports the first bad access and goes quiet: one report per object and accessing task.
    const label = baseName(a.thread);
    if (life.reported.has(label)) return;
    life.reported.add(label);
    this.reports++;
    const k = this.kernel();
    k.splat(kasanSplat(loc, a, life, life.freed!, relation, k.captureStacks));
  }
}

function freeSite(k: Kernel): { site: string | null; stack: Backtrace | null } {
  if (!k.captureStacks) return { site: null, stack: null };
  const st = captureStack();
  return { site: siteOfStack(st), stack: st };
}

function lockName(sync: object): string {
  const dep = (sync as { dep?: { name?: unknown } }).dep;
  return typeof dep?.name === 'string' ? dep.name : 'lock';
}

/** True when `set` holds this thread's access in its current epoch (the O(1) fast path). */
function own(set: readonly AccessRec[], slot: number, clock: number): boolean {
  for (let i = 0; i < set.length; i++) {
    const a = set[i]!;
    if (a.slot === slot) return a.clock === clock;
  }
  return false;
}

/** The first access of `set` by another thread that is not ordered before `vc`. */
function racing(set: readonly AccessRec[], vc: VClock, slot: number): AccessRec | null {
  for (let i = 0; i < set.length; i++) {
    const a = set[i]!;
    if (a.slot !== slot && a.clock > vcGet(vc, a.slot)) return a;
  }
  return null;
}
