/**
 * Running an exploration's tasks on worker threads (piscina). Tasks are
 * handed out in task order, at most `workers` at a time; each worker loads
 * the scenario once (by reference) and keeps its session across tasks.
 * Results come back in any order; the caller processes them in task order.
 * Work stops being handed out once the caller says the exploration is
 * over, and a stop request (the options' signal) reaches running tasks
 * through shared memory.
 */
import { Piscina } from 'piscina';
import type { ExplorePlan, TaskList } from './plan.ts';
import type { TaskResult } from './result.ts';
import type { PoolTask } from './pool-task.ts';
import { workerStart } from '../scenario/index.ts';

/**
 * The part of the exploration's options (`ExploreOptions`, explore.ts,
 * which starts the pool and so sits above this file) that a pool uses.
 */
export interface PoolOptions {
  /** Extra modules worker threads import first. */
  readonly workerPreload?: readonly string[];
  /** Stops handing out tasks and tells running ones to stop. */
  readonly signal?: AbortSignal;
  /** Where workers count the schedules they run (`ExploreCounters.cells`). */
  readonly counters?: { readonly cells: Int32Array };
}

/** What `runOnPool` needs. */
export interface PoolRun {
  readonly plan: ExplorePlan;
  readonly specs: TaskList;
  readonly ref: string;
  readonly workers: number;
  readonly options: PoolOptions;
  /** Takes each result (resolves once processed). */
  readonly accept: (r: TaskResult) => Promise<void>;
  /** True once no more tasks are needed. */
  readonly stopped: () => boolean;
}

/** Run `specs` on a pool of `workers` threads. */
export async function runOnPool(run: PoolRun): Promise<void> {
  // The same start as the CLI's run worker: compiled, the task module itself;
  // from sources, the bootstrap that registers tsx first.
  const start = workerStart('./pool-task.ts', import.meta.url, { preload: run.options.workerPreload ?? [] });
  const pool = new Piscina<PoolTask, TaskResult>({
    filename: start.filename,
    workerData: start.workerData,
    ...(start.execArgv ? { execArgv: start.execArgv } : {}),
    minThreads: run.workers,
    maxThreads: run.workers,
    idleTimeout: 1000,
  });
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const onAbort = (): void => {
    Atomics.store(stop, 0, 1);
  };
  run.options.signal?.addEventListener('abort', onAbort);
  if (run.options.signal?.aborted) onAbort();
  const counter = run.options.counters?.cells ?? new Int32Array(new SharedArrayBuffer(4));
  let next = 0;
  let failure: unknown = null;
  try {
    await new Promise<void>((resolve) => {
      let inFlight = 0;
      const launch = (): void => {
        while (inFlight < run.workers && next < run.specs.length && !run.stopped() && failure === null && Atomics.load(stop, 0) === 0) {
          const spec = run.specs.at(next++);
          inFlight++;
          pool
            .run({ scenario: run.ref, plan: run.plan, spec, stop, counter })
            .then((r) => run.accept(r))
            .catch((e: unknown) => {
              failure ??= e;
            })
            .finally(() => {
              inFlight--;
              launch();
              if (inFlight === 0) resolve();
            });
        }
        if (inFlight === 0) resolve();
      };
      launch();
    });
  } finally {
    run.options.signal?.removeEventListener('abort', onAbort);
    await pool.destroy();
  }
  if (failure !== null) throw failure instanceof Error ? failure : new Error(JSON.stringify(failure));
}
