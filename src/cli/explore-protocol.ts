/**
 * What the main thread of `dmabuf-lab explore` and its exploration worker
 * (explore-worker.ts) tell each other, and the shared memory the worker's
 * schedule watch writes so that the main thread sees a schedule stuck in
 * host code (a thread that never yields) and can stop it.
 */
import type { Bug, ExploreOptions, ExploreResult, ShardFile } from '../explore/index.ts';

/** Int32 slots of the watch memory. */
export const WATCH_BEAT = 0;
export const WATCH_TID = 1;
/** Float64 slot (byte offset 8): the kernel seed of the schedule being run. */
export const WATCH_SEED_F64 = 1;
/** Thread names by tid (the first `WATCH_NAMES` tids), `WATCH_NAME_BYTES` bytes each, from byte `WATCH_NAMES_AT`. */
export const WATCH_NAMES = 256;
export const WATCH_NAME_BYTES = 48;
export const WATCH_NAMES_AT = 16;
export const WATCH_BYTES = WATCH_NAMES_AT + WATCH_NAMES * WATCH_NAME_BYTES;

/** The exploration the worker runs (the options that cross threads). */
export interface ExploreJob {
  readonly ref: string;
  readonly options: Omit<ExploreOptions, 'signal' | 'counters' | 'onBug' | 'watch'>;
  readonly shard?: { readonly index: number; readonly count: number };
  /** Shared memory of the progress counter (`ExploreCounters.cells`). */
  readonly counter: SharedArrayBuffer;
  /** Shared memory of the schedule watch. */
  readonly watch: SharedArrayBuffer;
}

/** Main thread to worker: stop (Ctrl-C, the --time budget); the result covers what ran. */
export interface ExploreStop {
  readonly type: 'stop';
}

/** Worker to main thread. */
export type ExploreMessage =
  | { type: 'counters'; bugs: number; distinct: number; tasksDone: number; tasks: number }
  | { type: 'bug'; bug: Bug }
  | { type: 'result'; result: ExploreResult }
  | { type: 'shard'; shard: ShardFile }
  | { type: 'error'; message: string };
