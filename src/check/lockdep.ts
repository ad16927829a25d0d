import { LdWait } from '../kernel/index.ts';
import type { HeldLock, Kernel, LockdepMap, LockValidator, SplatInput, Thread } from '../kernel/index.ts';
import { bfs, pathTo } from './bfs.ts';
import type { BfsNode } from './bfs.ts';
import { calcDep, LockdepGraph } from './graph.ts';
import type { ChainNode, LockClass, LockSite } from './graph.ts';
import { checkIrqUsage, markLock, markUsage } from './irq.ts';
import { installLifetimeTracker } from './lifetime.ts';
import { dmaResvLockdepPrime } from './priming.ts';
import { READ_MASK, Usage } from './usage.ts';
import { circularBody, classLabel, edgeData, heldData, heldListText, heldText, lockData, recursiveBody, siteStack, siteText } from './report.ts';

/** Options of a `Lockdep` validator. */
export interface LockdepOptions {
  /** Record the `dma_resv_lockdep` boot-time order when attached (default true). */
  priming?: boolean;
  /** Install the kref lifetime tracker when attached (default true). */
  lifetime?: boolean;
}

/** `MAX_LOCKDEP_SUBCLASSES`. */
const MAX_SUBCLASSES = 8;

/** `hlock_id`: class and acquisition mode, the unit of a chain. */
function holdId(cls: LockClass, h: HeldLock): number {
  return cls.index * 32 + h.read * 8 + (h.trylock ? 4 : 0) + (h.nestLock ? 2 : 0) + (h.check ? 1 : 0);
}

/**
 * The held-lock chain that entry `h` ends (set by `Lockdep.acquire`).
 *
 * @kernel the struct lock_chain that curr_chain_key names once this lock is acquired (lookup_chain_cache)
 */
export function chainOf(h: HeldLock): ChainNode | null {
  return h.validatorSlot as ChainNode | null;
}

/**
 * lockdep: validates every lock acquisition of the kernels it is installed
 * on against a `LockdepGraph` (classes, dependencies, usage), and reports
 * violations as splats with stable rule ids. Unlike the kernel it does not
 * turn itself off after the first report; it reports each distinct
 * (rule, classes) once per graph.
 *
 * Per task it keeps nothing but the chain node in each held entry
 * (`HeldLock.validatorSlot`): the node names the entry's class, the
 * strictest wait type held up to it, and whether that chain was validated.
 *
 * Install with `new Kernel({ validator: lockdep })` then `lockdep.attach(k)`
 * (or `createCheckedKernel`). One instance may serve several kernels in turn.
 *
 * @kernel kernel/locking/lockdep.c (lock_acquire, lock_release, validate_chain, check_prev_add)
 */
export class Lockdep implements LockValidator {
  readonly graph: LockdepGraph;
  private readonly runOfKernel = new WeakMap<Kernel, number>();

  constructor(
    graph?: LockdepGraph,
    readonly opts: LockdepOptions = {},
  ) {
    this.graph = graph ?? new LockdepGraph();
  }

  /**
   * Install everything else on `k`: the `dma_resv_lockdep` priming (once per
   * graph, unless disabled), the kref lifetime tracker and its end-of-run
   * leak check. `k` must have been created with this validator.
   */
  attach(k: Kernel): this {
    if (k.validator !== this) {
      throw new Error('Lockdep.attach(k): create the kernel with `new Kernel({ validator: lockdep })` first, or use createCheckedKernel()');
    }
    this.runOf(k);
    if ((this.opts.priming ?? true) && !this.graph.primed) {
      this.graph.primed = true;
      dmaResvLockdepPrime(k, this);
    }
    if (this.opts.lifetime ?? true) installLifetimeTracker(k);
    return this;
  }

  /** @internal The run number of `k` on this graph (assigned on first sight). */
  runOf(k: Kernel): number {
    let r = this.runOfKernel.get(k);
    if (r === undefined) {
      r = ++this.graph.runs;
      this.runOfKernel.set(k, r);
    }
    return r;
  }

  /** @internal Where `h` was acquired, as recorded in edges and usage. */
  siteOf(t: Thread, h: HeldLock): LockSite {
    return { thread: t.name, timeNs: h.timeNs, step: h.step, site: h.site, stack: h.stack ?? null, run: this.runOf(t.kernel), seed: t.kernel.seed };
  }

  /** @internal Report once per graph under `key`. */
  report(t: Thread, key: string, s: SplatInput): void {
    if (!this.graph.firstReport(key)) return;
    t.kernel.splat({ thread: t, ...s });
  }

  /** The class `map` belongs to (with `subclass`). */
  classOf(map: LockdepMap, subclass = 0): LockClass {
    return this.graph.classOf(map, subclass);
  }

  /** The classes of `t`'s held locks, bottom first (for reports). */
  classesOf(t: Thread): LockClass[] {
    return t.held.map((h) => chainOf(h)?.cls ?? this.classOf(h.map, h.subclass < MAX_SUBCLASSES ? h.subclass : 0));
  }

  // ------------------------------------------------------------ validator

  acquire(t: Thread, h: HeldLock): void {
    const g = this.graph;
    let sub = h.subclass;
    if (sub >= MAX_SUBCLASSES) {
      this.invalidSubclass(t, h);
      sub = 0;
    }
    const cache = h.map.classCache as LockClass[] | null;
    let cls = cache !== null ? cache[sub] : undefined;
    if (cls === undefined || cls.graph !== g || cls.dead) cls = g.classOf(h.map, sub);
    const held = t.held;
    const depth = held.length;
    const below = (depth > 0 ? chainOf(held[depth - 1]!) : null) ?? g.chainRoot;
    const wait = cls.waitInner;
    if (wait !== LdWait.INV && !h.trylock) {
      let curr = below.inner;
      const ctx = t.waitCtx;
      if (ctx < curr) curr = ctx;
      if (t.rcuReadDepth > 0 && LdWait.CONFIG < curr) curr = LdWait.CONFIG;
      if (cls.waitOuter > curr) this.invalidWaitContext(t, h, cls, curr);
    }
    if (h.check) markUsage(this, t, h, cls, depth);
    if (h.nestLock !== null && !holds(held, h.nestLock)) this.nestedLockNotTaken(t, h, cls);
    const node = below.child(holdId(cls, h), cls, wait !== LdWait.INV && wait < below.inner ? wait : below.inner);
    h.validatorSlot = node;
    if (!h.trylock && h.check && !node.validated) this.validateChain(t, depth, h, node);
  }

  release(t: Thread, h: HeldLock): void {
    const node = chainOf(h);
    // The entry sat at index depth - 1; anything above it needs new chains.
    if (node !== null && node.depth - 1 < t.held.length) this.rebuild(t, node.depth - 1);
  }

  downgrade(t: Thread, h: HeldLock): void {
    const node = chainOf(h);
    if (node !== null) this.rebuild(t, node.depth - 1);
  }

  badUnlock(): void {
    // The kernel reports `lockdep.bad_unlock_balance` itself.
  }

  /**
   * `trace_hardirqs_on` / `lockdep_softirqs_on`: interrupts were re-enabled
   * while `t` still holds locks, so each held lock (checked ones) becomes
   * HARDIRQ-ON / SOFTIRQ-ON (`_READ` for readers) now, with the usual
   * inconsistent-state and irq-inversion checks. Hard IRQs first; the first
   * report ends the marking, as in the kernel.
   *
   * @kernel mark_held_locks, __trace_hardirqs_on_caller, lockdep_softirqs_on
   */
  irqsOn(t: Thread, hardirqs: boolean, softirqs: boolean): void {
    if (t.held.length === 0) return;
    if (hardirqs && !this.markHeldLocks(t, Usage.ENABLED_HARDIRQ)) return;
    if (softirqs) this.markHeldLocks(t, Usage.ENABLED_SOFTIRQ);
  }

  /** `mark_held_locks(curr, base_bit)`: false when a report was made. */
  private markHeldLocks(t: Thread, base: number): boolean {
    const held = t.held;
    for (let i = 0; i < held.length; i++) {
      const h = held[i]!;
      if (!h.check) continue;
      const bit = h.read !== 0 ? base + READ_MASK : base;
      const cls = chainOf(h)?.cls ?? this.classOf(h.map, h.subclass < MAX_SUBCLASSES ? h.subclass : 0);
      if ((cls.usage & (1 << bit)) !== 0) continue;
      if (!markLock(this, t, h, cls, bit, held.length)) return false;
    }
    return true;
  }

  leaked(): void {
    // The kernel reports the locks a task exits with.
  }

  /**
   * `reacquire_held_locks`: after an out-of-order release or a downgrade,
   * recompute the chains from position `from` and validate the new ones.
   */
  private rebuild(t: Thread, from: number): void {
    const held = t.held;
    for (let j = from; j < held.length; j++) {
      const h = held[j]!;
      const old = chainOf(h);
      const cls = old?.cls ?? this.classOf(h.map, h.subclass < MAX_SUBCLASSES ? h.subclass : 0);
      const below = (j > 0 ? chainOf(held[j - 1]!) : null) ?? this.graph.chainRoot;
      const wait = cls.waitInner;
      const node = below.child(holdId(cls, h), cls, wait !== LdWait.INV && wait < below.inner ? wait : below.inner);
      h.validatorSlot = node;
      if (h.check) markUsage(this, t, h, cls, j);
      if (!h.trylock && h.check && !node.validated) this.validateChain(t, j, h, node);
    }
  }

  // ---------------------------------------------------------------- chains

  /**
   * `validate_chain`: the chain of `next` on top of `t.held[0..idx)`,
   * checked once per graph.
   */
  private validateChain(t: Thread, idx: number, next: HeldLock, node: ChainNode): void {
    this.graph.stats.chainMisses++;
    this.graph.setValidated(node);
    const ret = this.checkDeadlock(t, idx, next, node.cls!);
    if (ret !== 1 || idx === 0) return;
    this.checkPrevsAdd(t, idx, next, node.cls!);
  }

  /** `check_deadlock`: 0 reported, 1 fine, 2 same class under its nest lock (no edges). */
  private checkDeadlock(t: Thread, idx: number, next: HeldLock, ncls: LockClass): 0 | 1 | 2 {
    const held = t.held;
    let nest = false;
    for (let i = 0; i < idx; i++) {
      const prev = held[i]!;
      if (next.nestLock !== null && prev.map === next.nestLock) nest = true;
      if (chainOf(prev)?.cls !== ncls) continue;
      // read-after-read recursion is fine for recursive readers
      if (next.read === 2 && prev.read !== 0) continue;
      if (nest) return 2;
      this.recursive(t, prev, ncls, next, ncls, idx);
      return 0;
    }
    return 1;
  }

  /** `check_prevs_add`: edges from the top held lock, and from trylocks above the first non-trylock. */
  private checkPrevsAdd(t: Thread, idx: number, next: HeldLock, ncls: LockClass): void {
    for (let i = idx - 1; i >= 0; i--) {
      const prev = t.held[i]!;
      const pcls = chainOf(prev)?.cls;
      if (prev.check && pcls) {
        if (!this.checkPrevAdd(t, idx, prev, pcls, next, ncls)) return;
        if (!prev.trylock) return;
      }
    }
  }

  /** `check_prev_add`: cycle check, IRQ-safety check, then record (unless present or redundant). */
  private checkPrevAdd(t: Thread, idx: number, prev: HeldLock, pcls: LockClass, next: HeldLock, ncls: LockClass): boolean {
    const g = this.graph;
    const cycle = bfs(g, ncls, next.read === 2, false, (n) => n.cls === pcls && (prev.read === 0 || !n.onlyXr));
    if (cycle) {
      if (pcls === ncls) this.recursive(t, prev, pcls, next, ncls, idx);
      else this.circular(t, idx, prev, pcls, next, ncls, pathTo(cycle));
      return false;
    }
    if (g.irqSafeClasses > 0 && !checkIrqUsage(this, t, idx, prev, pcls, next, ncls)) return false;
    const dep = calcDep(prev.read, next.read);
    const e = pcls.afterByTo.get(ncls);
    if (e) {
      g.orDep(e, dep);
      return true;
    }
    // Redundant: a path at least as strong already leads from prev to next.
    if (bfs(g, pcls, prev.read === 0, false, (n) => n.cls === ncls && (next.read === 2 || !n.onlyXr))) {
      g.stats.redundantEdges++;
      return true;
    }
    g.addEdge(pcls, ncls, dep, this.siteOf(t, next), prev.site);
    return true;
  }

  // --------------------------------------------------------------- reports

  private circular(t: Thread, idx: number, prev: HeldLock, pcls: LockClass, next: HeldLock, ncls: LockClass, path: BfsNode[]): void {
    const names = path.map((n) => n.cls.name);
    const key = `lockdep.circular:${[...new Set(names)].sort().join('|')}`;
    if (this.graph.reported.has(key)) return;
    const run = this.runOf(t.kernel);
    const now = `${next.map.name} acquired while holding ${prev.map.name}: ${siteText(this.siteOf(t, next), run)}`;
    const classes = this.classesOf(t);
    this.report(t, key, {
      rule: 'lockdep.circular',
      severity: 'lockdep',
      headline: 'WARNING: possible circular locking dependency detected',
      body: circularBody({ t, next, ncls, prev, pcls, path, held: t.held, classes, depth: idx, now, run }),
      data: {
        acquiring: lockData(next, ncls),
        holding: lockData(prev, pcls),
        cycle: [...names, names[0]],
        chain: path.slice(1).map((n) => edgeData(n.edge!)).reverse(),
        held: heldData(t.held, classes, idx),
      },
      stacks: [
        { label: `acquiring ${next.map.name}`, thread: t.name, step: next.step, stack: next.stack },
        ...path
          .slice(1)
          .reverse()
          .map((n) => siteStack(`${n.edge!.to.name} acquired while holding ${n.edge!.from.name}`, n.edge!.origin)),
      ],
    });
  }

  private recursive(t: Thread, prev: HeldLock, pcls: LockClass, next: HeldLock, ncls: LockClass, idx: number): void {
    const key = `lockdep.recursive:${ncls.name}`;
    if (this.graph.reported.has(key)) return;
    const classes = this.classesOf(t);
    this.report(t, key, {
      rule: 'lockdep.recursive',
      severity: 'lockdep',
      headline: 'WARNING: possible recursive locking detected',
      body: recursiveBody(t, next, ncls, prev, pcls, t.held, classes, idx),
      data: { acquiring: lockData(next, ncls), holding: lockData(prev, pcls), held: heldData(t.held, classes, idx) },
    });
  }

  private invalidWaitContext(t: Thread, h: HeldLock, cls: LockClass, curr: number): void {
    const ctx = t.waitCtx;
    const classes = this.classesOf(t);
    this.report(t, `lockdep.invalid_wait_context:${cls.name}:${curr}:${t.context}`, {
      rule: 'lockdep.invalid_wait_context',
      severity: 'lockdep',
      headline: 'BUG: Invalid wait context',
      body:
        `${t.name}/${t.id} is trying to lock:\n ${heldText(t, h, cls)}\n` +
        `other info that might help us debug this:\ncontext-{${ctx}:${ctx}}\n` +
        heldListText(t, t.held, classes),
      data: { acquiring: lockData(h, cls), context: t.context, contextWait: ctx, allowed: curr, held: heldData(t.held, classes) },
    });
  }

  private nestedLockNotTaken(t: Thread, h: HeldLock, cls: LockClass): void {
    const nest = h.nestLock!;
    const classes = this.classesOf(t);
    this.report(t, `lockdep.nested_lock_not_taken:${cls.name}:${nest.key}:${t.name}`, {
      rule: 'lockdep.nested_lock_not_taken',
      severity: 'lockdep',
      headline: 'WARNING: Nested lock was not taken',
      body:
        `${t.name}/${t.id} is trying to lock:\n ${heldText(t, h, cls)}\n\nbut this task is not holding:\n${nest.name}\n\n` +
        `other info that might help us debug this:\n${heldListText(t, t.held, classes)}`,
      data: { acquiring: lockData(h, cls), nestLock: nest.name, held: heldData(t.held, classes) },
    });
  }

  private invalidSubclass(t: Thread, h: HeldLock): void {
    this.report(t, `lockdep.invalid_subclass:${h.map.key}:${h.subclass}`, {
      rule: 'lockdep.invalid_subclass',
      severity: 'lockdep',
      headline: `BUG: looking up invalid subclass: ${h.subclass}`,
      body: `${h.map.name}: subclasses are 0..${MAX_SUBCLASSES - 1} (MAX_LOCKDEP_SUBCLASSES); the acquisition is validated as subclass 0`,
      data: { lock: h.map.name, subclass: h.subclass },
    });
  }

  /** Text of a class as reports print it (for other report writers). */
  label(cls: LockClass): string {
    return classLabel(cls);
  }
}

function holds(held: readonly HeldLock[], map: LockdepMap): boolean {
  for (let i = held.length - 1; i >= 0; i--) if (held[i]!.map === map) return true;
  return false;
}
