/**
 * lockdep annotations for code that is not a lock: `might_lock`, the
 * pseudo-lock helpers (`lock_map_acquire` …), `lockdep_set_class`, the
 * `lockdep_assert_*` family and `debug_check_no_locks_freed`.
 *
 * @kernel include/linux/lockdep.h
 */
import { assertHeld, assertNotHeld } from '../kernel/index.ts';
import type { Kernel, LockdepMap } from '../kernel/index.ts';
import { Lockdep } from './lockdep.ts';
import { heldListText, heldText } from './report.ts';

/** A lockdep map, or a lock that carries one (`Mutex`, `SpinLock`, `RwSemaphore`, `WwMutex`: `.dep`). */
export type LockLike = LockdepMap | { readonly dep: LockdepMap };

/**
 * The lockdep map of `lock`.
 *
 * @kernel the lock's dep_map member (struct lockdep_map)
 */
export function depMapOf(lock: LockLike): LockdepMap {
  return 'dep' in lock ? lock.dep : lock;
}

/**
 * `might_lock(lock)`: acquire and release `lock`'s map (validated, nothing
 * taken), so the dependency "held locks → lock" is recorded even on paths
 * that usually skip the lock. Process context.
 *
 * @kernel might_lock
 */
export function mightLock(k: Kernel, lock: LockLike): void {
  const map = depMapOf(lock);
  k.lockAcquire(map, 0, false, 0, true, null);
  k.lockRelease(map);
}

/** `might_lock_read(lock)`: as `mightLock`, as a (non-recursive) reader. @kernel might_lock_read */
export function mightLockRead(k: Kernel, lock: LockLike): void {
  const map = depMapOf(lock);
  k.lockAcquire(map, 0, false, 1, true, null);
  k.lockRelease(map);
}

/** `might_lock_nested(lock, subclass)`. @kernel might_lock_nested */
export function mightLockNested(k: Kernel, lock: LockLike, subclass: number): void {
  const map = depMapOf(lock);
  k.lockAcquire(map, subclass, false, 0, true, null);
  k.lockRelease(map);
}

/** `lock_map_acquire(map)`: take a pseudo-lock exclusively. @kernel lock_map_acquire */
export function lockMapAcquire(k: Kernel, map: LockdepMap): void {
  k.lockAcquire(map, 0, false, 0, true, null);
}

/** `lock_map_acquire_read(map)`: take a pseudo-lock as a recursive reader. @kernel lock_map_acquire_read */
export function lockMapAcquireRead(k: Kernel, map: LockdepMap): void {
  k.lockAcquire(map, 0, false, 2, true, null);
}

/** `lock_map_acquire_tryread(map)`: a recursive-reader trylock (records no edge into the map). @kernel lock_map_acquire_tryread */
export function lockMapAcquireTryread(k: Kernel, map: LockdepMap): void {
  k.lockAcquire(map, 0, true, 2, true, null);
}

/** `lock_map_release(map)`. @kernel lock_map_release */
export function lockMapRelease(k: Kernel, map: LockdepMap): void {
  k.lockRelease(map);
}

/**
 * `lockdep_set_class_and_name(lock, key, name)` (`lockdep_set_class` when
 * `name` is omitted: the class takes the key as its name). Call before the
 * lock is first taken.
 *
 * @kernel lockdep_set_class, lockdep_set_class_and_name
 */
export function lockdepSetClass(lock: LockLike, key: string, name?: string): void {
  depMapOf(lock).setClass(key, name ?? key);
}

/** `lockdep_is_held(lock)`: the current thread holds it (any mode). @kernel lockdep_is_held */
export function lockdepIsHeld(k: Kernel, lock: LockLike): boolean {
  return k.lockIsHeld(depMapOf(lock), -1);
}

/** `lockdep_assert_held(lock)`: WARN (`lockdep.assert_held`) unless held in any mode. @kernel lockdep_assert_held */
export function lockdepAssertHeld(k: Kernel, lock: LockLike): void {
  assertHeld(k, depMapOf(lock), -1);
}

/** `lockdep_assert_held_write(lock)`: WARN unless held exclusively. @kernel lockdep_assert_held_write */
export function lockdepAssertHeldWrite(k: Kernel, lock: LockLike): void {
  assertHeld(k, depMapOf(lock), 0);
}

/** `lockdep_assert_held_read(lock)`: WARN unless held as a reader. @kernel lockdep_assert_held_read */
export function lockdepAssertHeldRead(k: Kernel, lock: LockLike): void {
  assertHeld(k, depMapOf(lock), 1);
}

/** `lockdep_assert_not_held(lock)`: WARN (`lockdep.assert_not_held`) when held. @kernel lockdep_assert_not_held */
export function lockdepAssertNotHeld(k: Kernel, lock: LockLike): void {
  assertNotHeld(k, depMapOf(lock));
}

const noneHeldWarned = new WeakMap<Kernel, Set<string>>();

/**
 * `lockdep_assert_none_held_once()`: WARN once per kernel and thread when
 * the current thread holds any lock (`lockdep.assert_none_held`).
 *
 * @kernel lockdep_assert_none_held_once
 */
export function lockdepAssertNoneHeldOnce(k: Kernel): void {
  const t = k.current;
  if (t.held.length === 0) return;
  let seen = noneHeldWarned.get(k);
  if (!seen) noneHeldWarned.set(k, (seen = new Set()));
  if (seen.has(t.name)) return;
  seen.add(t.name);
  k.splat({
    rule: 'lockdep.assert_none_held',
    severity: 'warn',
    headline: 'WARNING: lockdep_assert_none_held_once() failed',
    body: `${t.name} holds locks where none may be held:\n${k.describeHeld(t)}`,
    thread: t,
  });
}

/**
 * `debug_check_no_locks_freed`: call when freeing an object that contains
 * `locks`; reports `lockdep.held_lock_freed` if the current thread holds any
 * of them. Any context.
 *
 * @kernel debug_check_no_locks_freed (kernel/locking/lockdep.c)
 */
export function debugCheckNoLocksFreed(k: Kernel, what: string, locks: readonly LockLike[]): void {
  const t = k.currentOrNull;
  if (!t || t.held.length === 0) return;
  const maps = new Set(locks.map(depMapOf));
  const i = t.held.findIndex((h) => maps.has(h.map));
  if (i < 0) return;
  const h = t.held[i]!;
  const ld = k.validator instanceof Lockdep ? k.validator : null;
  const lockText = ld ? heldText(t, h, ld.classOf(h.map, h.subclass)) : `(${h.map.name})`;
  const list = ld ? heldListText(t, t.held, ld.classesOf(t)) : k.describeHeld(t);
  const s = {
    rule: 'lockdep.held_lock_freed',
    severity: 'lockdep' as const,
    headline: 'WARNING: held lock freed!',
    body: `${t.name}/${t.id} is freeing memory ${what}, with a lock still held there!\n ${lockText}\n${list}`,
    data: { object: what, lock: h.map.name },
  };
  if (ld) ld.report(t, `lockdep.held_lock_freed:${what}:${h.map.key}`, s);
  else k.splat({ ...s, thread: t });
}
