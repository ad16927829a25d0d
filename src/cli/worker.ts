/**
 * Worker side of the CLI: loads and runs scenarios on request, streaming
 * splats, thread names and (when tracing) events to the main thread as they
 * happen, so that whatever a run produced survives the watchdog stopping it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ReplayChooser } from '../kernel/index.ts';
import type { Kernel, KernelEvent, Splat } from '../kernel/index.ts';
import { describeExpectation, loadScenario, runScenario, ScenarioError } from '../explore/index.ts';
import { registerScenarioHook } from './esm-hook.ts';
import { SLOT_STEPS, SLOT_TID, SLOT_TIME_NS } from './protocol.ts';
import type { RunRequest, WorkerMessage } from './protocol.ts';

registerScenarioHook();
const port = parentPort!;
const sab = (workerData as { sab: SharedArrayBuffer }).sab;
const tidSlot = new Int32Array(sab);
const numbers = new Float64Array(sab);

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
  const chooser = req.decisions
    ? new ReplayChooser({ seed: req.seed, decisions: req.decisions })
    : undefined;

  const onEvent = (e: KernelEvent, k: Kernel): void => {
    if (e.type === 'switch') {
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

  const run = await runScenario(scenario, {
    seed: req.seed,
    trace: false,
    captureStacks: req.stacks,
    limits: req.limits,
    ...(req.races === false ? { races: false } : {}),
    onEvent,
    ...(chooser ? { chooser } : {}),
    onKernel: (k) => {
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
    beforeRun: () => {
      post({ type: 'phase', id, phase: 'run' });
    },
  });
  const r = run.result;
  post({
    type: 'done',
    id,
    notes: [...run.notes],
    verdict: run.verdict,
    result: {
      end: r.end,
      splats: r.splats.map(plainSplat),
      failure: r.failure
        ? { kind: r.failure.kind, message: r.failure.message, thread: r.failure.thread }
        : null,
      timeNs: r.timeNs,
      steps: r.steps,
      seed: r.seed,
      limits: r.limits,
      decisions: r.schedule.decisions.map((d) => ({ kind: d.kind, label: d.label })),
      exits: Object.fromEntries(r.exits),
      unusedDecisions: chooser?.remaining ?? 0,
    },
  });
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

port.on('message', (req: RunRequest) => {
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
