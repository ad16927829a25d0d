/**
 * Worker side of the CLI: loads and runs scenarios on request, streaming
 * splats, thread names and (when tracing) events to the main thread as they
 * happen, so that whatever a run produced survives the watchdog stopping it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ReplayChooser, userThrowSite } from '../kernel/index.ts';
import type { ChoiceKind, ChoiceOption, Chooser, Kernel, KernelEvent, RunResult, Splat } from '../kernel/index.ts';
import { describeExpectation, loadScenario, runScenario, ScenarioError } from '../scenario/index.ts';
import type { Scenario, ScenarioRun } from '../scenario/index.ts';
// The leaf, not the trace index: that index loads trace-check, and with it every layer's event rules.
import { EventHasher } from '../trace/hash.ts';
import { SLOT_STEPS, SLOT_STOP, SLOT_TID, SLOT_TIME_NS } from './protocol.ts';
import type { RunRequest, WorkerMessage, WorkerRequest } from './protocol.ts';

const port = parentPort!;
const sab = (workerData as { sab: SharedArrayBuffer }).sab;
const tidSlot = new Int32Array(sab);
const numbers = new Float64Array(sab);

/** The request being handled, its current kernel (the run, then its replay with stacks), and a stop request. */
let current: { id: number; kernel: Kernel | null; interrupted: string | null } | null = null;

/** Stop the current run as interrupted (Ctrl-C or the wall-clock limit, from the main thread). */
function interrupt(id: number, message: string): void {
  if (current?.id !== id) return;
  current.interrupted = message;
  current.kernel?.interrupt(message);
}

/**
 * A promise a scenario's thread rejected and nobody handled (a call that
 * returns a promise, not awaited): reported as a warning of the run in
 * progress, with where the rejection was created in the scenario.
 */
process.on('unhandledRejection', (reason: unknown) => {
  const message = reason instanceof Error ? reason.message || reason.name : String(reason);
  const site = userThrowSite(reason);
  const text =
    `a promise was rejected and nobody handled it: ${message}${site ? ` (at ${site})` : ''}. ` +
    'A thread started an operation returning a promise without awaiting it; await it inside the thread (or handle its rejection).';
  if (current) post({ type: 'warning', id: current.id, message: text });
});

/**
 * Replays a partial schedule (saved from an interrupted run) and stops the
 * run where its decisions end, instead of reporting a divergence there.
 */
class PartialReplay implements Chooser {
  constructor(
    private readonly inner: ReplayChooser,
    private readonly stop: () => void,
  ) {}

  choose(kind: ChoiceKind, options: readonly ChoiceOption[]): number {
    if (this.inner.remaining === 0) {
      this.stop();
      return 0;
    }
    return this.inner.choose(kind, options);
  }

  inject(kind: ChoiceKind, site: string): boolean {
    return this.inner.inject(kind, site);
  }

  get remaining(): number {
    return this.inner.remaining;
  }
}

function post(m: WorkerMessage): void {
  try {
    port.postMessage(m);
  } catch {
    // Something in the payload does not clone (a function, a class with
    // private state): send its JSON form instead of breaking the run.
    port.postMessage(JSON.parse(JSON.stringify(m)) as WorkerMessage);
  }
}

async function handle(req: RunRequest): Promise<void> {
  const id = req.id;
  Atomics.store(tidSlot, SLOT_TID, 0);
  numbers[SLOT_STEPS] = 0;
  numbers[SLOT_TIME_NS] = 0;
  post({ type: 'phase', id, phase: 'load' });
  const loaded = await loadScenario(req.scenario);
  const { scenario } = loaded;
  const seen = new Set<number>();
  const replay = req.decisions ? new ReplayChooser({ seed: req.seed, decisions: req.decisions }) : undefined;
  const chooser =
    replay && req.partial
      ? new PartialReplay(replay, () => {
          current?.kernel?.interrupt('the partial schedule ends here (it was saved from an interrupted run)');
        })
      : replay;

  const hasher = req.hash ? new EventHasher() : null;
  const onEvent = (e: KernelEvent, k: Kernel): void => {
    hasher?.add(e);
    if (e.type === 'switch') {
      if (req.stopAtStep !== undefined && e.step >= req.stopAtStep) {
        k.interrupt('the partial schedule ends here (it was saved from an interrupted run)');
      }
      if (Atomics.load(tidSlot, SLOT_STOP) === id) {
        // interrupt() is a no-op once the run has ended.
        k.interrupt(current?.interrupted ?? 'stopped from outside (Ctrl-C, SIGTERM or the wall-clock limit)');
        if (current) current.interrupted ??= 'stopped';
      }
      Atomics.store(tidSlot, SLOT_TID, e.tid);
      numbers[SLOT_STEPS] = e.step;
      numbers[SLOT_TIME_NS] = e.tNs;
      if (!seen.has(e.tid)) {
        seen.add(e.tid);
        post({ type: 'thread', id, tid: e.tid, name: e.to });
      }
    } else if (e.type === 'splat') {
      post({ type: 'splat', id, splat: plainSplat(k.splats[k.splats.length - 1]!) });
    } else if (e.type === 'run-end') {
      Atomics.store(tidSlot, SLOT_TID, 0);
      numbers[SLOT_STEPS] = e.step;
    }
    if (req.trace) post({ type: 'event', id, event: e });
  };

  const started = performance.now();
  const run = await runScenario(scenario, {
    seed: req.seed,
    trace: false,
    captureStacks: req.stacks,
    limits: req.limits,
    ...(req.races === false ? { races: false } : {}),
    ...(req.lockdep === false ? { lockdep: false } : {}),
    onEvent,
    ...(chooser ? { chooser } : {}),
    onKernel: (k) => {
      if (current) current.kernel = k;
      post({
        type: 'loaded',
        id,
        info: {
          name: scenario.name,
          description: scenario.description,
          expect: scenario.expect,
          expected: describeExpectation(scenario.expect),
          ref: loaded.ref,
          builtin: loaded.builtin,
        },
        limits: k.limits,
        lockdep: k.validator !== null,
        races: k.hb !== null,
      });
      post({ type: 'phase', id, phase: 'setup' });
    },
    beforeRun: (k) => {
      post({ type: 'phase', id, phase: 'run' });
      // A stop request that came during setup stops the run at once.
      if (current?.interrupted) queueMicrotask(() => { k.interrupt(current?.interrupted ?? 'interrupted'); });
    },
  });
  const r = run.result;
  const eventHash = hasher?.digest() ?? null;
  // Rejections nobody handled are reported when the event loop turns: let it, before the summary.
  await new Promise<void>((resolve) => setImmediate(resolve));
  const located =
    req.stacks || current?.interrupted || r.failure?.kind === 'interrupted'
      ? { result: r, stacks: req.stacks ? ('captured' as const) : ('off' as const), note: null }
      : await restack(req, scenario, run, eventHash, performance.now() - started);
  const shown = located.result;
  post({
    type: 'done',
    id,
    notes: [...run.notes],
    verdict: run.verdict,
    result: {
      end: r.end,
      splats: shown.splats.map(plainSplat),
      failure: shown.failure
        ? {
            kind: shown.failure.kind,
            message: shown.failure.message,
            thread: shown.failure.thread,
            ...(shown.failure.stack ? { stack: shown.failure.stack } : {}),
          }
        : null,
      timeNs: r.timeNs,
      steps: r.steps,
      seed: r.seed,
      limits: r.limits,
      decisions: r.schedule.decisions.map((d) => ({ kind: d.kind, label: d.label })),
      exits: Object.fromEntries(r.exits),
      unusedDecisions: chooser?.remaining ?? 0,
      eventHash,
      stacks: located.stacks,
      stacksNote: located.note,
    },
  });
}

/**
 * The run's result with source locations: when it reported a splat (other
 * than a run limit) or a thread error and stacks were off, replay it from
 * its recorded schedule with stack capture on and take that replay's
 * reports, provided the replay is the same run (same end, steps, rules and,
 * when hashed, the same events). Capture never changes what a run does, so
 * a difference means the scenario is not deterministic: keep the first
 * reports and say so.
 */
async function restack(
  req: RunRequest,
  scenario: Scenario,
  run: ScenarioRun,
  eventHash: string | null,
  tookMs: number,
): Promise<{ result: RunResult; stacks: 'replayed' | 'off'; note: string | null }> {
  const r = run.result;
  const mode = req.restack ?? 'never';
  const reported =
    r.splats.some((s) => s.severity !== 'info' && s.rule !== 'run.limit') ||
    r.failure?.kind === 'thread-exception' ||
    r.failure?.kind === 'misuse';
  const wanted =
    mode === 'on-report'
      ? reported
      : mode === 'on-mismatch'
        ? reported && !run.verdict.matches
        : false;
  if (!wanted) return { result: r, stacks: 'off', note: null };
  if (req.restackWithinMs !== undefined && tookMs > req.restackWithinMs) {
    return {
      result: r,
      stacks: 'off',
      note: `no source locations: the run took ${(tookMs / 1000).toFixed(1)} s, too long to replay with stack capture within the timeout; run it again with --stacks (and a larger --timeout)`,
    };
  }
  const hasher = eventHash !== null ? new EventHasher() : null;
  let again: ScenarioRun;
  try {
    again = await runScenario(scenario, {
      seed: req.seed,
      limits: req.limits,
      captureStacks: true,
      chooser: new ReplayChooser(r.schedule),
      ...(req.races === false ? { races: false } : {}),
      ...(req.lockdep === false ? { lockdep: false } : {}),
      onKernel: (k) => {
        if (current) current.kernel = k;
      },
      ...(hasher
        ? {
            onEvent: (e: KernelEvent) => {
              hasher.add(e);
            },
          }
        : {}),
    });
  } catch (e) {
    return {
      result: r,
      stacks: 'off',
      note: `the replay with stack capture failed: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
  const a = again.result;
  const same =
    a.end === r.end &&
    a.steps === r.steps &&
    a.splats.length === r.splats.length &&
    a.splats.every((s, i) => s.rule === r.splats[i]!.rule && s.step === r.splats[i]!.step) &&
    (a.failure?.kind ?? null) === (r.failure?.kind ?? null) &&
    (hasher === null || hasher.digest() === eventHash);
  if (!same) {
    return {
      result: r,
      stacks: 'off',
      note: 'no source locations: replaying the run with stack capture did not reproduce it (is the scenario deterministic? it must not use Math.random, Date.now or host timers)',
    };
  }
  return { result: a, stacks: 'replayed', note: null };
}

/** A splat with its data as plain JSON (objects in it may hold functions or cycles). */
function plainSplat(s: Splat): Splat {
  if (!s.data) return s;
  try {
    return { ...s, data: JSON.parse(JSON.stringify(s.data)) as Record<string, unknown> };
  } catch {
    return { ...s, data: { note: 'splat data could not be serialized' } };
  }
}

port.on('message', (m: WorkerRequest) => {
  if ('type' in m) {
    interrupt(m.id, m.message);
    return;
  }
  const req = m;
  current = { id: req.id, kernel: null, interrupted: null };
  handle(req).catch((e: unknown) => {
    if (e instanceof ScenarioError)
      post({ type: 'error', id: req.id, kind: e.kind, message: e.message });
    else
      post({
        type: 'error',
        id: req.id,
        kind: 'internal',
        message: e instanceof Error ? (e.stack ?? e.message) : String(e),
      });
  });
});
