/**
 * A small harness for porting `lib/locking-selftest.c`: the selftest's
 * locks (A..D and the shared classes X, Y, Z with two instances each), its
 * LOCK/UNLOCK flavours (spin, wlock, rlock, mutex, wsem, rsem) and its
 * simulated IRQ contexts. One selftest case is one fresh checked kernel and
 * lockdep graph (the selftest's `reset_locks()`); its verdict is FAILURE when
 * lockdep (or a lock debug check) reported anything, SUCCESS otherwise, as
 * `dotest()` reads `debug_locks`.
 */
import { createCheckedKernel } from '../../src/check/index.ts';
import {
  Completion,
  localBhDisable,
  localBhEnable,
  localIrqDisable,
  localIrqEnable,
  Mutex,
  RwLock,
  RwSemaphore,
  setForceReadLockRecursive,
  SpinLock,
} from '../../src/kernel/index.ts';
import type { Kernel, RunResult } from '../../src/kernel/index.ts';

export type Flavour = 'spin' | 'wlock' | 'rlock' | 'mutex' | 'wsem' | 'rsem';
export type IrqKind = 'hard' | 'soft';
export const FAILURE = 0;
export const SUCCESS = 1;

const NAMES = ['A', 'B', 'C', 'D', 'X1', 'X2', 'Y1', 'Y2', 'Z1', 'Z2'] as const;
export type LockName = (typeof NAMES)[number];

/** `init_shared_classes()`: X1/X2 share a class, as do Y1/Y2 and Z1/Z2; A..D each have their own. */
function keyOf(kind: string, n: LockName): string {
  return `selftest.${kind}_${n.length === 2 ? n[0]! : n}`;
}

/** The selftest's statically defined locks of one kernel. */
export class SelftestLocks {
  readonly spin = new Map<LockName, SpinLock>();
  readonly rw = new Map<LockName, RwLock>();
  readonly mutex = new Map<LockName, Mutex>();
  readonly rwsem = new Map<LockName, RwSemaphore>();

  constructor(readonly k: Kernel) {
    for (const n of NAMES) {
      this.spin.set(n, new SpinLock(k, `lock_${n}`, { key: keyOf('lock', n) }));
      this.rw.set(n, new RwLock(k, `rwlock_${n}`, { key: keyOf('rwlock', n) }));
      this.mutex.set(n, new Mutex(k, `mutex_${n}`, { key: keyOf('mutex', n) }));
      this.rwsem.set(n, new RwSemaphore(k, `rwsem_${n}`, { key: keyOf('rwsem', n) }));
    }
  }

  // The selftest's shortcuts.
  L(x: LockName): void { this.spin.get(x)!.lock(); }
  U(x: LockName): void { this.spin.get(x)!.unlock(); }
  WL(x: LockName): void { this.rw.get(x)!.writeLock(); }
  WU(x: LockName): void { this.rw.get(x)!.writeUnlock(); }
  RL(x: LockName): void { this.rw.get(x)!.readLock(); }
  RU(x: LockName): void { this.rw.get(x)!.readUnlock(); }
  async ML(x: LockName): Promise<void> { await this.mutex.get(x)!.lock(); }
  MU(x: LockName): void { this.mutex.get(x)!.unlock(); }
  async WSL(x: LockName): Promise<void> { await this.rwsem.get(x)!.downWrite(); }
  WSU(x: LockName): void { this.rwsem.get(x)!.upWrite(); }
  async RSL(x: LockName): Promise<void> { await this.rwsem.get(x)!.downRead(); }
  RSU(x: LockName): void { this.rwsem.get(x)!.upRead(); }

  /** LOCK(x) of a flavour header (`locking-selftest-<flavour>.h`). */
  async LOCK(f: Flavour, x: LockName): Promise<void> {
    switch (f) {
      case 'spin': { this.L(x); return; }
      case 'wlock': { this.WL(x); return; }
      case 'rlock': { this.RL(x); return; }
      case 'mutex': return this.ML(x);
      case 'wsem': return this.WSL(x);
      case 'rsem': return this.RSL(x);
    }
  }

  /** UNLOCK(x) of a flavour header. */
  UNLOCK(f: Flavour, x: LockName): void {
    switch (f) {
      case 'spin': { this.U(x); return; }
      case 'wlock': { this.WU(x); return; }
      case 'rlock': { this.RU(x); return; }
      case 'mutex': { this.MU(x); return; }
      case 'wsem': { this.WSU(x); return; }
      case 'rsem': { this.RSU(x); return; }
    }
  }

  /**
   * IRQ_ENTER() ... IRQ_EXIT() of the hardirq / softirq headers: `body` runs
   * in a (threaded) hardirq context with IRQs off, or in a softirq context
   * with hard IRQs off (`SOFTIRQ_ENTER` disables them), and the caller waits
   * for it to finish.
   */
  async irq(kind: IrqKind, body: () => void): Promise<void> {
    const k = this.k;
    const done = new Completion(k, 'irq-done');
    const ctx = k.spawnContext(kind === 'hard' ? 'hardirq' : 'softirq', `${kind}irq`, () => {
      if (kind === 'soft') localIrqDisable(k);
      body();
      if (kind === 'soft') localIrqEnable(k);
      done.complete();
    });
    ctx.hardirqThreaded = true; // lockdep_hardirq_threaded()
    await done.waitForCompletion();
  }

  /** IRQ_DISABLE() of the hardirq / softirq headers. */
  irqDisable(kind: IrqKind): void {
    if (kind === 'hard') localIrqDisable(this.k);
    else localBhDisable(this.k);
  }

  /** IRQ_ENABLE(). */
  irqEnable(kind: IrqKind): void {
    if (kind === 'hard') localIrqEnable(this.k);
    else localBhEnable(this.k);
  }
}

/** Reports that are not the test's verdict: the case leaves its locks held on purpose (AA cases). */
const IGNORED = new Set(['lockdep.exit_with_locks', 'sched.scheduling_while_atomic', 'run.limit']);

/** Rule ids of `r` that count as a selftest FAILURE. */
export function failures(r: RunResult): string[] {
  return r.splats.filter((s) => !IGNORED.has(s.rule)).map((s) => s.rule);
}

/**
 * `dotest(testcase, expected)`: run `body` in one process-context thread of a
 * fresh checked kernel (no resv priming: the selftest runs on a clean
 * graph); `forceRecursive` is `force_read_lock_recursive` (1 for the main
 * suite, 0 for the queued-rwlock cases).
 */
export async function dotest(
  body: (l: SelftestLocks, k: Kernel) => Promise<void> | void,
  forceRecursive = true,
): Promise<RunResult> {
  const k = createCheckedKernel({ seed: 1, priming: false });
  setForceReadLockRecursive(k, forceRecursive);
  const locks = new SelftestLocks(k);
  k.kthreadRun('selftest', async () => {
    await body(locks, k);
  });
  const r = await k.run();
  if (r.failure) throw new Error(`selftest run failed: ${r.failure.message}`);
  return r;
}

/** The permutations the selftest generates for 2 and 3 events (`name_12`, `name_123`, ...). */
export const PERMS2 = ['12', '21'] as const;
export const PERMS3 = ['123', '132', '213', '231', '312', '321'] as const;

/** Run the events of `perm` ('1' → events[0], ...) in order. */
export async function inOrder(perm: string, events: readonly (() => Promise<void> | void)[]): Promise<void> {
  for (const c of perm) await events[Number(c) - 1]!();
}
