/**
 * Main-thread side of a run: a worker runs the scenario while the main thread
 * keeps the wall-clock watchdog (`--timeout`) and the progress line. The
 * worker streams splats, thread names and events as they happen and writes
 * the running thread, steps and virtual time into shared memory at every
 * switch, so a run stopped from outside still has a summary, a partial
 * trace and the name of the thread that was running.
 */
import { Worker } from 'node:worker_threads';
import type { KernelEvent, KernelLimits, Splat } from '../kernel/index.ts';
// The leaf module, not the scenario index: the main thread of `run` must not load the model.
import { workerStart } from '../scenario/module-loading.ts';
import type { Verdict } from '../scenario/index.ts';
import { SAB_BYTES, SLOT_STEPS, SLOT_STOP, SLOT_TID, SLOT_TIME_NS } from './protocol.ts';
import type { InterruptRequest, RunRequest, RunSummaryData, ScenarioInfo, WorkerMessage } from './protocol.ts';

/** Where a run was when last seen. */
export interface RunProgress {
  phase: 'start' | 'load' | 'setup' | 'run';
  steps: number;
  timeNs: number;
  /** Thread running at the last switch (null between threads). */
  thread: string | null;
  /** Its kernel thread id (0 for none). */
  tid: number;
}

/**
 * How a run ended, from the main thread's point of view. `done` includes a
 * run the worker stopped on request (its result's failure is `interrupted`);
 * `timeout` and `interrupted` are runs whose worker had to be terminated
 * (stuck in a loop, or not answering a stop request in time).
 */
export type RunStatus = 'done' | 'scenario-error' | 'timeout' | 'interrupted' | 'crashed';

/** Why a run was stopped from outside: Ctrl-C / SIGTERM, or the wall-clock limit. */
export type StoppedBy = 'signal' | 'timeout';

/** Everything the CLI knows about one run, complete or not. */
export interface RunOutcome {
  readonly request: RunRequest;
  readonly status: RunStatus;
  readonly info: ScenarioInfo | null;
  readonly limits: KernelLimits | null;
  readonly lockdep: boolean;
  /** The race detector and KASAN were on. */
  readonly races: boolean;
  readonly result: RunSummaryData | null;
  readonly notes: readonly string[];
  readonly verdict: Verdict | null;
  /** The result's splats, or those streamed before the run was stopped. */
  readonly splats: readonly Splat[];
  readonly events: readonly KernelEvent[] | null;
  readonly error: { readonly kind: string; readonly message: string } | null;
  readonly progress: RunProgress;
  /** For a timeout: true when no scheduling step happened in the last second (a loop with no kernel operation). */
  readonly stuck: boolean;
  /** Set when the run was stopped from outside (and how); null when it ended by itself. */
  readonly stoppedBy: StoppedBy | null;
  /** Warnings the worker reported (a promise rejected and never handled, with its site). */
  readonly warnings: readonly string[];
  /** Wall-clock ms of setup and run (of loading too, when the run stopped there). */
  readonly wallMs: number;
  readonly timeoutMs: number;
}

/** Receives progress snapshots while a run goes on. */
export interface ProgressSink {
  update(p: RunProgress, elapsedMs: number, scenario: string): void;
  done(): void;
}

/** Options of a `RunWorker`. */
export interface RunWorkerOptions {
  /** Wall-clock limit per run in ms. */
  timeoutMs: number;
  progress?: ProgressSink | null;
  /** Send the scenario's own console output to stderr (keeps `--json` stdout clean). */
  stdoutToStderr?: boolean;
}

const POLL_MS = 250;
const STUCK_MS = 1000;
/**
 * How long a worker asked to stop (Ctrl-C, or a progressing run at its
 * wall-clock limit) gets to end the run itself, with its schedule, before
 * it is terminated. A run yields to the host every few thousand steps, so a
 * healthy one answers within milliseconds.
 */
const STOP_GRACE_MS = 1500;
/**
 * Loading a scenario (starting the worker, compiling TypeScript on a cold
 * cache, importing the model) is not part of the run: it gets at least this
 * long, so a short --timeout on a busy machine does not stop a healthy load.
 */
const LOAD_ALLOWANCE_MS = 60_000;

/**
 * Start a run worker on `sab`. Compiled, the worker starts on worker.js and
 * loads a TypeScript loader only for a user's .ts scenario; from sources, on
 * a bootstrap that registers tsx first (see module-loading.ts).
 */
function startWorker(sab: SharedArrayBuffer, pipedStdout: boolean): Worker {
  const start = workerStart('./worker.ts', import.meta.url, { data: { sab } });
  return new Worker(start.filename, {
    workerData: start.workerData,
    ...(start.execArgv ? { execArgv: start.execArgv } : {}),
    stdout: pipedStdout,
  });
}

/** A worker started before the command line was parsed, waiting for its `RunWorker`. */
interface Prestarted {
  readonly worker: Worker;
  readonly sab: SharedArrayBuffer;
  /** It failed or exited before it was adopted: the adopter starts another, which reports why. */
  dead: boolean;
  readonly onEarlyDeath: () => void;
}

let prestarted: Prestarted | null = null;

/**
 * Start the run worker now, before the command line is parsed, so that the
 * worker's start and its loading of the model (most of a short run's
 * start-up) overlap the main thread's loading of commander and the command.
 * The first `RunWorker` created adopts it; if none is (a usage error), it
 * does not keep the process alive. Its stdout is piped, to go to stdout or
 * stderr once the options are known.
 */
export function prestartRunWorker(): void {
  if (prestarted) return;
  const sab = new SharedArrayBuffer(SAB_BYTES);
  const worker = startWorker(sab, true);
  const p: Prestarted = {
    worker,
    sab,
    dead: false,
    onEarlyDeath: () => {
      p.dead = true;
    },
  };
  // Listened to, an early error is not an uncaught exception of the main thread.
  worker.on('error', p.onEarlyDeath);
  worker.on('exit', p.onEarlyDeath);
  worker.unref();
  prestarted = p;
}

/** Runs scenarios one after another in a worker thread, restarting it after a timeout. */
export class RunWorker {
  private worker: Worker | null = null;
  private readonly sab: SharedArrayBuffer;
  /** The prestarted worker this one adopts on its first run, if any. */
  private adopted: Prestarted | null;
  private nextId = 1;
  private onMessage: ((m: WorkerMessage) => void) | null = null;
  private onDeath: ((why: string) => void) | null = null;
  private onInterrupt: ((message: string) => void) | null = null;

  constructor(private readonly opts: RunWorkerOptions) {
    this.adopted = prestarted;
    prestarted = null;
    this.sab = this.adopted?.sab ?? new SharedArrayBuffer(SAB_BYTES);
  }

  private spawn(): Worker {
    const early = this.adopted;
    this.adopted = null;
    let w: Worker;
    if (early !== null) {
      early.worker.off('error', early.onEarlyDeath);
      early.worker.off('exit', early.onEarlyDeath);
    }
    if (early !== null && !early.dead) {
      w = early.worker;
      w.stdout.pipe(this.opts.stdoutToStderr ? process.stderr : process.stdout, { end: false });
    } else {
      w = startWorker(this.sab, this.opts.stdoutToStderr ?? false);
      if (this.opts.stdoutToStderr) w.stdout.pipe(process.stderr);
    }
    w.on('message', (m: WorkerMessage) => this.onMessage?.(m));
    w.on('error', (e) => this.onDeath?.(e instanceof Error ? (e.stack ?? e.message) : String(e)));
    w.on('exit', (code) => {
      if (this.worker === w) this.worker = null;
      this.onDeath?.(`the worker exited with code ${code}`);
    });
    w.unref();
    return w;
  }

  /** Run one request; never rejects. */
  run(req: Omit<RunRequest, 'id'>): Promise<RunOutcome> {
    const request: RunRequest = { ...req, id: this.nextId++ };
    const worker = (this.worker ??= this.spawn());
    const tidSlot = new Int32Array(this.sab);
    const numbers = new Float64Array(this.sab);
    const names = new Map<number, string>();
    const splats: Splat[] = [];
    const events: KernelEvent[] | null = req.trace ? [] : null;
    const progress: RunProgress = { phase: 'start', steps: 0, timeNs: 0, thread: null, tid: 0 };
    let info: ScenarioInfo | null = null;
    let limits: KernelLimits | null = null;
    let lockdep = false;
    let races = false;
    const started = performance.now();
    let lastStepsAt = started;
    let lastSteps = -1;
    const warnings: string[] = [];
    let stoppedBy: StoppedBy | null = null;

    const sample = (): void => {
      const steps = numbers[SLOT_STEPS]!;
      if (steps !== lastSteps) {
        lastSteps = steps;
        lastStepsAt = performance.now();
      }
      progress.steps = steps;
      progress.timeNs = numbers[SLOT_TIME_NS]!;
      const tid = Atomics.load(tidSlot, SLOT_TID);
      progress.tid = tid;
      progress.thread = tid === 0 ? null : (names.get(tid) ?? `thread #${tid}`);
    };

    return new Promise<RunOutcome>((resolve) => {
      let watchdog: NodeJS.Timeout | undefined;
      let grace: NodeJS.Timeout | undefined;
      let armedAt = started;
      let settled = false;
      const finish = (status: RunStatus, extra: Partial<RunOutcome>): void => {
        if (settled) return;
        settled = true;
        clearInterval(poll);
        clearTimeout(watchdog);
        clearTimeout(grace);
        this.onMessage = null;
        this.onDeath = null;
        this.onInterrupt = null;
        this.opts.progress?.done();
        resolve({
          request,
          status,
          info,
          limits,
          lockdep,
          races,
          result: null,
          notes: [],
          verdict: null,
          splats,
          events,
          error: null,
          progress,
          stuck: false,
          stoppedBy,
          warnings,
          wallMs: performance.now() - armedAt,
          timeoutMs: this.opts.timeoutMs,
          ...extra,
        });
      };
      const poll = setInterval(() => {
        sample();
        this.opts.progress?.update(
          progress,
          performance.now() - started,
          info?.name ?? req.scenario,
        );
      }, POLL_MS);
      const kill = (status: 'timeout' | 'interrupted', stuck: boolean): void => {
        this.worker = null;
        void worker.terminate();
        finish(status, { stuck });
      };
      /**
       * Stop the run: a worker in the run phase is asked to end it itself
       * (its result then has the schedule so far) and terminated if it does
       * not within the grace period; before that (loading, setup) or when
       * it is stuck in a loop, it is terminated at once.
       */
      const stop = (why: StoppedBy, message: string, stuck: boolean): void => {
        if (settled || stoppedBy !== null) return;
        stoppedBy = why;
        const status = why === 'timeout' ? 'timeout' : 'interrupted';
        if (progress.phase !== 'run' || stuck) {
          kill(status, stuck);
          return;
        }
        clearTimeout(watchdog);
        Atomics.store(tidSlot, SLOT_STOP, request.id);
        worker.postMessage({ type: 'interrupt', id: request.id, message } satisfies InterruptRequest);
        grace = setTimeout(() => {
          sample();
          kill(status, performance.now() - lastStepsAt >= STUCK_MS);
        }, STOP_GRACE_MS);
      };
      this.onInterrupt = (message) => {
        sample();
        stop('signal', message, false);
      };
      const arm = (ms: number): void => {
        clearTimeout(watchdog);
        armedAt = performance.now();
        watchdog = setTimeout(() => {
          sample();
          const stuck =
            progress.phase !== 'run' ||
            performance.now() - lastStepsAt >= Math.min(STUCK_MS, this.opts.timeoutMs / 2);
          stop(
            'timeout',
            `stopped by the wall-clock limit (--timeout ${this.opts.timeoutMs / 1000}) while still making progress`,
            stuck,
          );
        }, ms);
      };
      arm(Math.max(this.opts.timeoutMs, LOAD_ALLOWANCE_MS));

      this.onMessage = (m) => {
        if (m.id !== request.id && m.id !== -1) return;
        switch (m.type) {
          case 'phase':
            progress.phase = m.phase;
            // The --timeout clock covers setup and the run.
            if (m.phase === 'setup') arm(this.opts.timeoutMs);
            break;
          case 'loaded':
            info = m.info;
            limits = m.limits;
            lockdep = m.lockdep;
            races = m.races;
            break;
          case 'thread':
            names.set(m.tid, m.name);
            break;
          case 'splat':
            splats.push(m.splat);
            break;
          case 'event':
            events?.push(m.event);
            break;
          case 'warning':
            warnings.push(m.message);
            break;
          case 'done':
            sample();
            progress.steps = m.result.steps;
            progress.timeNs = m.result.timeNs;
            finish('done', {
              result: m.result,
              notes: m.notes,
              verdict: m.verdict,
              splats: m.result.splats,
            });
            break;
          case 'error':
            finish(m.kind === 'internal' ? 'crashed' : 'scenario-error', {
              error: { kind: m.kind, message: m.message },
            });
            break;
        }
      };
      this.onDeath = (why) => {
        sample();
        this.worker = null;
        finish('crashed', { error: { kind: 'crashed', message: why } });
      };
      worker.postMessage(request);
    });
  }

  /**
   * Stop the run in flight (Ctrl-C): it ends as interrupted with what it
   * produced so far, or, when its worker is loading, in setup, stuck or
   * does not answer, the worker is terminated. No-op when idle.
   */
  interrupt(message: string): void {
    this.onInterrupt?.(message);
  }

  /** Stop the worker. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    this.onDeath = null;
    if (w) await w.terminate();
  }
}
