import type { HeldLock, SpinLock, Thread } from '../kernel/index.ts';

/** Marks flags returned by the fast path, so the matching unlock takes the same path. */
const FAST = 1 << 24;

/**
 * One reusable held-lock record per lock for the fast path: a spinlock is
 * held by at most one thread at a time, so the record never appears twice.
 */
const records = new WeakMap<SpinLock, HeldLock>();

/** One-entry cache in front of the WeakMap: hot loops use one lock over and over. */
let lastLock: SpinLock | null = null;
let lastRecord: HeldLock | null = null;

function recordOf(lock: SpinLock): HeldLock {
  if (lock === lastLock) return lastRecord!;
  let h: HeldLock | undefined = records.get(lock);
  if (h === undefined) {
    h = {
      map: lock.dep,
      subclass: 0,
      read: 0,
      trylock: false,
      check: true,
      nestLock: null,
      refs: 1,
      timeNs: 0,
      step: 0,
      site: null,
      hardirqsOn: false,
      softirqsOn: false,
      validatorSlot: null,
    };
    records.set(lock, h);
  }
  lastLock = lock;
  lastRecord = h;
  return h;
}

/**
 * `spin_lock_irqsave(fence->lock)` for the fence core's own hot paths.
 *
 * With lockdep on (a validator installed), stack capture on or tracing on,
 * this is exactly `SpinLock.lockIrqsave`: the lock's class is acquired and
 * validated, and the acquisition is traced. With all three off nothing would
 * look at the acquisition's details, so a reusable held-lock record is
 * pushed instead of a new one: the lock is still owned and on the thread's
 * held-lock stack (assertions, exit checks and reports still see it),
 * preemption and IRQs are still disabled (a callback that sleeps is still
 * "scheduling while atomic"), and taking a lock that is already held still
 * goes through `SpinLock` (recursion and lockup reports). This keeps a fence
 * signal within a small factor of a plain callback list.
 *
 * @kernel spin_lock_irqsave
 */
export function fenceLock(lock: SpinLock): number {
  const k = lock.kernel;
  if (k.validator !== null || k.captureStacks || k.events.active || lock.owner !== null)
    return lock.lockIrqsave();
  const t = k.current;
  const flags = t.irqsDisabled;
  t.irqsDisabled = flags + 1;
  t.preemptCount++;
  lock.owner = t;
  t.held.push(recordOf(lock));
  if (k.hb !== null) k.hb.acquire(t, lock);
  return flags | FAST;
}

function popRecord(t: Thread, h: HeldLock): boolean {
  const held = t.held;
  if (held[held.length - 1] === h) {
    held.pop();
    return true;
  }
  const i = held.lastIndexOf(h);
  if (i < 0) return false;
  held.splice(i, 1);
  return true;
}

/**
 * `spin_unlock_irqrestore` matching `fenceLock`.
 *
 * @kernel spin_unlock_irqrestore
 */
export function fenceUnlock(lock: SpinLock, flags: number): void {
  if ((flags & FAST) === 0) {
    lock.unlockIrqrestore(flags);
    return;
  }
  const k = lock.kernel;
  const t = k.current;
  if (lock.owner !== t || !popRecord(t, recordOf(lock))) {
    // Report it as SpinLock would.
    k.splat({
      rule: 'spinlock.wrong_owner',
      severity: 'bug',
      headline: `BUG: spinlock ${lock.owner ? 'wrong owner' : 'already unlocked'} on CPU#0, ${t.name}/${t.id}`,
      body: ` lock: ${lock.dep.name}, .owner: ${lock.owner?.name ?? '<none>'}`,
      thread: t,
    });
  }
  lock.owner = null;
  if (k.hb !== null) k.hb.release(t, lock);
  t.preemptCount--;
  t.irqsDisabled = flags & ~FAST;
}
