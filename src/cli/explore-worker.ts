/**
 * The thread an exploration runs in for `dmabuf-lab explore`: the main
 * thread stays free to watch it (a schedule stuck in host code cannot be
 * stopped from inside its own thread), to answer Ctrl-C and to show
 * progress. It reports each bug as found, so what was found survives the
 * worker being terminated.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { explore, ExploreCounters, exploreShard, loadScenario, registerScenarioHook } from '../explore/index.ts';
import type { ScheduleWatch } from '../explore/index.ts';
import { WATCH_BEAT, WATCH_NAME_BYTES, WATCH_NAMES, WATCH_NAMES_AT, WATCH_SEED_F64, WATCH_TID } from './explore-protocol.ts';
import type { ExploreJob, ExploreMessage, ExploreStop } from './explore-protocol.ts';

const port = parentPort!;
const job = workerData as ExploreJob;
const beat = new Int32Array(job.watch, 0, 2);
const seedSlot = new Float64Array(job.watch, 0, 2);
const names = new Uint8Array(job.watch, WATCH_NAMES_AT, WATCH_NAMES * WATCH_NAME_BYTES);
const encoder = new TextEncoder();

function post(m: ExploreMessage): void {
  port.postMessage(m);
}

/** Tells the main thread, through shared memory, that schedules start and threads switch. */
const watch: ScheduleWatch = {
  schedule(seed: number): void {
    seedSlot[WATCH_SEED_F64] = seed;
    beat[WATCH_TID] = 0;
    Atomics.add(beat, WATCH_BEAT, 1);
  },
  spawned(tid: number, name: string): void {
    if (tid < 0 || tid >= WATCH_NAMES) return;
    const slot = names.subarray(tid * WATCH_NAME_BYTES, (tid + 1) * WATCH_NAME_BYTES);
    slot.fill(0);
    encoder.encodeInto(name.slice(0, WATCH_NAME_BYTES / 2), slot);
  },
  switched(tid: number): void {
    beat[WATCH_TID] = tid;
    beat[WATCH_BEAT] = (beat[WATCH_BEAT]! + 1) | 0;
  },
};

const abort = new AbortController();
port.on('message', (m: ExploreStop) => {
  if (m.type === 'stop') abort.abort();
});

async function main(): Promise<void> {
  registerScenarioHook();
  const { scenario } = await loadScenario(job.ref);
  const counters = new ExploreCounters(new Int32Array(job.counter));
  const tick = setInterval(() => {
    post({ type: 'counters', bugs: counters.bugs, distinct: counters.distinct, tasksDone: counters.tasksDone, tasks: counters.tasks });
  }, 250);
  try {
    const options = {
      ...job.options,
      signal: abort.signal,
      counters,
      watch,
      onBug: (bug) => {
        post({ type: 'bug', bug });
      },
    } satisfies Parameters<typeof explore>[1];
    if (job.shard) post({ type: 'shard', shard: await exploreShard(scenario, job.shard, options) });
    else post({ type: 'result', result: await explore(scenario, options) });
  } finally {
    clearInterval(tick);
    post({ type: 'counters', bugs: counters.bugs, distinct: counters.distinct, tasksDone: counters.tasksDone, tasks: counters.tasks });
  }
}

main().catch((e: unknown) => {
  post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
});
