import { kfree } from './alloc.ts';
import type { KBuffer } from './alloc.ts';
import { WOULD_SLEEP } from './kernel.ts';
import type { Kernel } from './kernel.ts';
import { LdWait, LockdepMap } from './lockdep-map.ts';
import type { Blocker, Thread } from './thread.ts';

declare module './events.ts' {
  interface KernelEventMap {
    'rcu-gp': { gp: number; phase: 'start' | 'end'; holdouts: number };
  }
}

/** An RCU callback (`rcu_callback_t`): softirq context, atomic. */
export type RcuCallback = (head: RcuHead) => void;

/**
 * `struct rcu_head`: the link a `call_rcu` queues. Queueing one that is
 * already queued is reported (the kernel's debug-objects check).
 *
 * @kernel struct rcu_head
 */
export class RcuHead {
  /** @internal */
  queued = false;
  constructor(readonly name = 'rcu_head') {}
}

interface QueuedCallback {
  readonly head: RcuHead;
  readonly fn: RcuCallback;
  /** Grace period that must complete before it runs. */
  readonly gp: number;
}

/**
 * The RCU state of one kernel: grace periods numbered from 1, driven by the
 * `rcu_gp` daemon kthread so their start and end are scheduling choices.
 * A grace period waits for every thread that was inside an `rcu_read_lock`
 * section when it started (its holdouts). Preempt- and IRQ-disabled regions
 * and IRQ contexts are readers in the kernel too; in the model they never
 * span a scheduling point except in runs that already report scheduling
 * while atomic, so only explicit read sections are tracked.
 *
 * @kernel kernel/rcu/tree.c (rcu_gp_kthread, non-preemptible flavour)
 */
class RcuState {
  completed = 0;
  inProgress = false;
  /** Highest grace period somebody waits for. */
  requested = 0;
  readonly readers = new Set<Thread>();
  readonly holdouts = new Set<Thread>();
  readonly callbacks: QueuedCallback[] = [];
  queuedCount = 0;
  invokedCount = 0;
  coreScheduled = false;
  gpThread: Thread | null = null;
  gpIdle = false;
  readonly waiters: Thread[] = [];
  /** Sync object of grace-period ends (readers' unlocks → synchronize_rcu return, callbacks). */
  readonly gpSync = {};
  /** Sync object of callback invocations (→ rcu_barrier return). */
  readonly cbSync = {};
  readonly lockMap = new LockdepMap('rcu_read_lock', 'rcu_read_lock', LdWait.CONFIG, LdWait.FREE);

  constructor(readonly kernel: Kernel) {
    kernel.addEndCheck(() => {
      this.stallCheck();
    });
  }

  /** The grace period a caller must wait for (`rcu_seq_snap`). */
  snap(): number {
    return this.completed + (this.inProgress ? 2 : 1);
  }

  request(gp: number): void {
    if (gp > this.requested) this.requested = gp;
    const k = this.kernel;
    if (!this.gpThread) {
      this.gpThread = k.kthreadRun('rcu_gp', (self) => this.gpKthread(self), { daemon: true });
    } else if (this.gpIdle) {
      k.wake(this.gpThread);
    }
  }

  notify(): void {
    for (const t of this.waiters.splice(0)) this.kernel.wake(t);
  }

  /** @kernel rcu_gp_kthread */
  private async gpKthread(self: Thread): Promise<void> {
    const k = this.kernel;
    const idle: Blocker = { describe: () => 'rcu_gp idle', owners: () => [] };
    const readers: Blocker = { describe: () => 'rcu grace period readers', owners: () => [...this.holdouts] };
    for (;;) {
      if (this.requested <= this.completed) {
        this.gpIdle = true;
        await k.block(self, idle, 'rcu_gp_kthread');
        this.gpIdle = false;
        continue;
      }
      this.inProgress = true;
      const gp = this.completed + 1;
      for (const t of this.readers) if (t.state !== 'exited') this.holdouts.add(t);
      if (k.events.active) k.emit('rcu-gp', { gp, phase: 'start', holdouts: this.holdouts.size });
      // The grace period lasts at least one scheduling point: readers that
      // start meanwhile are not waited for.
      await k.schedulePoint('rcu_gp_init');
      for (;;) {
        for (const t of this.holdouts) if (t.state === 'exited') this.holdouts.delete(t);
        if (this.holdouts.size === 0) break;
        await k.block(self, readers, 'rcu_gp_wait');
      }
      // Every reader that left its section is ordered before the end of the grace period.
      const hb = k.hb;
      if (hb !== null) {
        hb.acquire(self, this);
        hb.release(self, this.gpSync);
      }
      this.completed = gp;
      this.inProgress = false;
      if (k.events.active) k.emit('rcu-gp', { gp, phase: 'end', holdouts: 0 });
      this.notify();
      if (this.callbacks[0] && this.callbacks[0].gp <= gp) this.scheduleCore();
    }
  }

  /** Raise RCU_SOFTIRQ: a softirq context invokes the callbacks whose grace period is over. */
  private scheduleCore(): void {
    if (this.coreScheduled) return;
    this.coreScheduled = true;
    this.kernel.spawnContext('softirq', 'rcu_core', (t) => {
      this.coreScheduled = false;
      const hb = this.kernel.hb;
      hb?.acquire(t, this.gpSync);
      hb?.acquire(t, this.cbSync);
      while (this.callbacks[0] && this.callbacks[0].gp <= this.completed) {
        const cb = this.callbacks.shift()!;
        cb.head.queued = false;
        this.invokedCount++;
        hb?.acquire(t, cb.head);
        cb.fn(cb.head);
      }
      hb?.release(t, this.cbSync);
      this.notify();
    });
  }

  readerLeft(t: Thread): void {
    this.readers.delete(t);
    if (this.holdouts.delete(t) && this.holdouts.size === 0 && this.gpThread) this.kernel.wake(this.gpThread);
  }

  private stallCheck(): void {
    const stuck = [...this.holdouts];
    if (!this.inProgress || stuck.length === 0) return;
    this.kernel.splat({
      rule: 'rcu.stall',
      severity: 'bug',
      headline: `INFO: rcu_sched detected stalls on tasks: grace period ${this.completed + 1} never ended`,
      body: `Tasks still inside an RCU read-side critical section: ${stuck.map((t) => `${t.name} (${t.state}, nesting ${t.rcuReadDepth})`).join(', ')}`,
      thread: null,
      data: { gp: this.completed + 1, holdouts: stuck.map((t) => t.name) },
    });
  }
}

const states = new WeakMap<Kernel, RcuState>();

function rcu(k: Kernel): RcuState {
  let s = states.get(k);
  if (!s) states.set(k, (s = new RcuState(k)));
  return s;
}

/**
 * The `rcu_read_lock` lockdep map of kernel `k` (recursive reader, wait type CONFIG inside).
 *
 * @kernel rcu_lock_map
 */
export function rcuLockMap(k: Kernel): LockdepMap {
  return rcu(k).lockMap;
}

/**
 * `rcu_read_lock`: enter a read-side critical section (nests). The section
 * is atomic for might_sleep, as with non-preemptible RCU. Any context.
 *
 * @kernel rcu_read_lock
 */
export function rcuReadLock(k: Kernel): void {
  const t = k.current;
  const s = rcu(k);
  if (t.rcuReadDepth++ === 0) s.readers.add(t);
  k.lockAcquire(s.lockMap, 0, false, 2, false, null, t);
}

/** `rcu_read_unlock`: leave the section; the outermost unlock may end a grace period. @kernel rcu_read_unlock */
export function rcuReadUnlock(k: Kernel): void {
  const t = k.current;
  const s = rcu(k);
  if (t.rcuReadDepth === 0) {
    k.lockRelease(s.lockMap, t); // reports the imbalance
    return;
  }
  k.lockRelease(s.lockMap, t);
  if (--t.rcuReadDepth === 0) {
    k.hb?.release(t, s);
    s.readerLeft(t);
  }
}

/** `rcu_read_lock_held()`: inside an `rcu_read_lock` section. @kernel rcu_read_lock_held */
export function rcuReadLockHeld(k: Kernel): boolean {
  const t = k.currentOrNull;
  return t !== null && t.rcuReadDepth > 0;
}

/** `rcu_read_lock_any_held()`: any RCU reader, including preempt/IRQ-disabled regions and IRQ contexts. @kernel rcu_read_lock_any_held */
export function rcuReadLockAnyHeld(k: Kernel): boolean {
  const t = k.currentOrNull;
  return t !== null && t.atomic;
}

const suspicious = new WeakMap<Kernel, Set<string>>();

/**
 * `rcu_dereference_check(p, c)`: returns `p`; reports "suspicious RCU usage"
 * (once per `site`) unless the caller is in an `rcu_read_lock` section or
 * `cond` holds (e.g. the update-side lock is held).
 *
 * @kernel rcu_dereference_check, lockdep_rcu_suspicious
 */
export function rcuDereferenceCheck<T>(k: Kernel, p: T, cond = false, site = 'rcu_dereference'): T {
  if (cond || rcuReadLockHeld(k)) return p;
  let seen = suspicious.get(k);
  if (!seen) suspicious.set(k, (seen = new Set()));
  if (!seen.has(site)) {
    seen.add(site);
    k.splat({
      rule: 'rcu.suspicious_usage',
      severity: 'lockdep',
      headline: 'WARNING: suspicious RCU usage',
      body: `${site}: suspicious rcu_dereference_check() usage!\nrcu_scheduler_active = 2, debug_locks = 1\n${k.currentOrNull ? k.describeHeld(k.currentOrNull) || 'no locks held' : ''}`,
      data: { site },
    });
  }
  return p;
}

/** `rcu_dereference(p)`: `rcuDereferenceCheck` with no extra condition. @kernel rcu_dereference */
export function rcuDereference<T>(k: Kernel, p: T, site?: string): T {
  return rcuDereferenceCheck(k, p, false, site);
}

/**
 * `synchronize_rcu`: wait for a full grace period: every thread inside a
 * read-side section when it was called has left it. Process context; calling
 * it inside a read section is reported (and never returns).
 *
 * @kernel synchronize_rcu
 */
export function synchronizeRcu(k: Kernel): Promise<void> {
  // A grace period always waits: where the caller cannot sleep it is a certain deadlock.
  return k.sleeping('synchronize_rcu', () => WOULD_SLEEP, () => synchronizeRcuSlow(k));
}

async function synchronizeRcuSlow(k: Kernel): Promise<void> {
  const t = k.current;
  k.mightSleep('synchronize_rcu');
  const s = rcu(k);
  if (t.rcuReadDepth > 0) {
    k.splat({
      rule: 'rcu.sync_in_read_section',
      severity: 'lockdep',
      headline: 'WARNING: suspicious RCU usage',
      body: 'Illegal synchronize_rcu() in RCU read-side critical section!',
      thread: t,
    });
  }
  const gp = s.snap();
  s.request(gp);
  const blocker: Blocker = {
    describe: () => `rcu grace period ${gp}`,
    owners: () => [...(s.gpThread ? [s.gpThread] : []), ...s.holdouts],
  };
  while (s.completed < gp) {
    s.waiters.push(t);
    await k.block(t, blocker, 'synchronize_rcu');
  }
  k.hb?.acquire(t, s.gpSync);
}

/**
 * `call_rcu`: run `fn(head)` in softirq context after a grace period.
 * Callbacks run in the order they were queued. Any context.
 *
 * @kernel call_rcu
 */
export function callRcu(k: Kernel, head: RcuHead, fn: RcuCallback): void {
  const s = rcu(k);
  if (head.queued) {
    k.splat({
      rule: 'rcu.double_call_rcu',
      severity: 'warn',
      headline: `ODEBUG: activate active (active state 1) object type: rcu_head hint: ${head.name}`,
      body: 'call_rcu() on an rcu_head that is already queued (double free of the object that embeds it?)',
      data: { head: head.name },
    });
    return;
  }
  head.queued = true;
  k.hb?.release(k.currentOrNull, head);
  const gp = s.snap();
  s.callbacks.push({ head, fn, gp });
  s.queuedCount++;
  s.request(gp);
}

/**
 * `kfree_rcu`: free `buf` after a grace period. Any context.
 *
 * @kernel kfree_rcu
 */
export function kfreeRcu(k: Kernel, buf: KBuffer): void {
  callRcu(k, new RcuHead(`kfree_rcu(${buf.id})`), () => {
    kfree(k, buf);
  });
}

/**
 * `rcu_barrier`: wait until every callback queued before the call has run.
 * Process context.
 *
 * @kernel rcu_barrier
 */
export async function rcuBarrier(k: Kernel): Promise<void> {
  const t = k.current;
  k.mightSleep('rcu_barrier');
  const s = rcu(k);
  const target = s.queuedCount;
  const blocker: Blocker = { describe: () => 'rcu_barrier', owners: () => (s.gpThread ? [s.gpThread] : []) };
  while (s.invokedCount < target) {
    s.waiters.push(t);
    await k.block(t, blocker, 'rcu_barrier');
  }
  k.hb?.acquire(t, s.cbSync);
}
