import { callerSite } from './stack.ts';
import type { Backtrace } from './stack.ts';

/**
 * Wait types (`enum lockdep_wait_type`): what acquiring a lock may do, used by
 * the wait-context check. Pseudo-locks are `INV` (not checked).
 *
 * @kernel include/linux/lockdep_types.h (with PROVE_RAW_LOCK_NESTING, so CONFIG and SPIN differ)
 */
export const LdWait = { INV: 0, FREE: 1, SPIN: 2, CONFIG: 3, SLEEP: 4 } as const;
export type LdWaitType = (typeof LdWait)[keyof typeof LdWait];

/** Read mode of an acquisition: 0 exclusive, 1 non-recursive reader, 2 recursive reader. */
export type LockRead = 0 | 1 | 2;

/**
 * `struct lockdep_map`: what a lock (or a pseudo-lock such as `fs_reclaim`)
 * carries so the validator can find its class. The class is identified by
 * `key`: an explicit name, or the source location that created the lock (the
 * kernel's "one static key per init call site").
 *
 * @kernel struct lockdep_map
 */
export class LockdepMap {
  /** Per-subclass class handles cached by the validator (opaque to the kernel). */
  classCache: unknown[] | null = null;

  constructor(
    /** Instance name, e.g. `&entity->lock`, shown in reports. */
    public name: string,
    /** Class key; locks with the same key share a lockdep class. */
    public key: string,
    /** Inner wait type: what acquiring it may do. */
    public readonly waitInner: LdWaitType,
    /** Outer wait type: what holding it allows (defaults to inner). */
    public readonly waitOuter: LdWaitType = waitInner,
  ) {}

  /** `lockdep_set_class_and_name`: move this lock into another class. */
  setClass(key: string, name: string = key): void {
    this.key = key;
    this.name = name;
    this.classCache = null;
  }
}

/**
 * One entry of a task's held-lock stack.
 *
 * @kernel struct held_lock
 */
export interface HeldLock {
  readonly map: LockdepMap;
  readonly subclass: number;
  readonly read: LockRead;
  readonly trylock: boolean;
  /** false for track-only acquisitions (`check = 0`). */
  readonly check: boolean;
  readonly nestLock: LockdepMap | null;
  /** Merged nest-locked acquisitions of one class (ww_mutex transactions). */
  refs: number;
  readonly timeNs: number;
  readonly step: number;
  /** Source location of the acquisition when stack capture is on (`siteOfStack(stack)`). */
  readonly site: string | null;
  /** The acquisition's backtrace when stack capture is on. */
  readonly stack?: Backtrace | null;
  /** Hard IRQs were enabled at acquisition (for IRQ usage states). */
  readonly hardirqsOn: boolean;
  /** Soft IRQs were enabled at acquisition. */
  readonly softirqsOn: boolean;
  /** The validator's per-acquisition state (lockdep: the held-lock chain this entry ends); null until set. */
  validatorSlot: unknown;
}

/**
 * Creation sites of the keyless locks a scenario's `setup` creates, by
 * creation order, kept across the runs of one exploration. `setup` runs
 * before the simulation, outside any thread, and does the same thing on
 * every run (a run is determined by scenario, options and schedule), so its
 * n-th keyless lock has the same creation site every time: the site is
 * resolved from a stack trace on the first run only. The lock's name is
 * compared as a safeguard; a setup that creates something else at a
 * position turns the memo off for the rest of the exploration.
 *
 * @kernel none: a cache of the model (the kernel keys a class by a static lock_class_key)
 */
export class CreationSiteMemo {
  private readonly sites: string[] = [];
  private readonly names: (string | undefined)[] = [];
  private next = 0;
  /** Off after a mismatch: every later creation walks the stack. */
  disabled = false;

  /** A new run: number setup's creations from the start again. */
  reset(): void {
    this.next = 0;
  }

  /** The site of the next creation named `name`, if known. */
  lookup(name: string | undefined): string | undefined {
    const i = this.next++;
    if (this.disabled) return undefined;
    if (i < this.sites.length) {
      if (this.names[i] === name) return this.sites[i];
      this.disabled = true;
    }
    return undefined;
  }

  /** Remember the site of the creation `lookup` just missed. */
  record(name: string | undefined, site: string): void {
    if (this.disabled || this.next - 1 !== this.sites.length) return;
    this.sites.push(site);
    this.names.push(name);
  }
}

/** V8's structured stack frame (the part used here). */
interface RawFrame {
  getFileName(): string | null | undefined;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
}

const rawFrames = (_e: Error, frames: RawFrame[]): RawFrame[] => frames;

/**
 * Creation sites already resolved, by the raw position of the creating
 * frame (file, line and column as V8 sees them, before source maps).
 * Formatting a stack costs several microseconds per lock; a keyless lock
 * created at a known position costs a structured capture and a map lookup.
 * Positions are stable for the life of the process, so the cache is never
 * invalidated.
 */
const siteCache = new Map<string, string>();

/**
 * `callerSite(skip)` (stack.ts), resolved once per call site: the class key
 * of a lock created without one. Same result, a fraction of the cost.
 *
 * @kernel none: a creation site stands for the address of the static lock_class_key
 */
export function cachedCallerSite(skip: number): string {
  const savedLimit = Error.stackTraceLimit;
  const host = Error as unknown as { prepareStackTrace: unknown };
  const savedPrepare = host.prepareStackTrace;
  Error.stackTraceLimit = skip + 2;
  host.prepareStackTrace = rawFrames;
  const holder: { stack?: RawFrame[] } = {};
  Error.captureStackTrace(holder, cachedCallerSite);
  const frames = holder.stack;
  host.prepareStackTrace = savedPrepare;
  Error.stackTraceLimit = savedLimit;
  // frames[0] is the function that called cachedCallerSite.
  const f = Array.isArray(frames) ? frames[skip] : undefined;
  if (f === undefined) return callerSite(skip + 1);
  const key = `${f.getFileName() ?? '?'}:${f.getLineNumber() ?? 0}:${f.getColumnNumber() ?? 0}`;
  let site = siteCache.get(key);
  if (site === undefined) {
    site = callerSite(skip + 1);
    siteCache.set(key, site);
  }
  return site;
}

// Site capture lives in stack.ts; these re-exports keep the older import path working.
export { acquireSite, callerSite } from './stack.ts';
