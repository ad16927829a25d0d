/**
 * The kernel's only contact with the host event loop: a macrotask hand-off.
 *
 * The simulation runs entirely in microtasks. A run posts one macrotask per
 * segment; it is delivered only when the microtask queue drains, which
 * happens either because the scheduler yielded on purpose (every few thousand
 * steps, so progress output and wall-clock limits keep working) or because
 * the running thread awaited something that is not a kernel operation. The
 * hand-off tells the two apart. A MessageChannel is used rather than a timer
 * API: delivery order never influences simulated results, only whether the
 * host gets a turn.
 *
 * At most one message is in flight: every callback queued before it arrives
 * is delivered by it (callbacks queued during a delivery wait for the next
 * message, so a deliberate yield still yields). A run that ends cancels its
 * callback, so a finished kernel is not kept reachable until the event loop
 * turns: an exploration running thousands of short runs inside one
 * macrotask stays flat in memory.
 */
import { MessageChannel } from 'node:worker_threads';

/** A queued callback; `cb` is null once cancelled or delivered. */
interface Slot {
  cb: (() => void) | null;
}

let channel: MessageChannel | null = null;
let pending: Slot[] = [];
let live = 0;
let inFlight = false;

function deliver(): void {
  inFlight = false;
  // Take every callback of the batch first: one that cancels another
  // while running must not change the count of the next batch.
  const cbs: (() => void)[] = [];
  for (const s of pending) {
    if (s.cb !== null) cbs.push(s.cb);
    s.cb = null;
  }
  pending = [];
  live = 0;
  for (const cb of cbs) cb();
  if (live > 0) post();
  else channel?.port1.unref();
}

function post(): void {
  if (!channel) {
    channel = new MessageChannel();
    channel.port1.on('message', deliver);
  }
  // Keep the process alive while a callback waits (the port may have been
  // unref'd by a cancellation while the message was in flight).
  channel.port1.ref();
  if (inFlight) return;
  inFlight = true;
  channel.port2.postMessage(0);
}

/**
 * Run `cb` in a later macrotask of the host event loop. Returns a function
 * that cancels it (a no-op once delivered).
 */
export function hostMacrotask(cb: () => void): () => void {
  const slot: Slot = { cb };
  pending.push(slot);
  live++;
  post();
  return () => {
    if (slot.cb === null) return;
    slot.cb = null;
    live--;
    // Drop cancelled slots at the tail at once, so back-to-back runs do not
    // grow the queue while the event loop does not turn.
    while (pending.length > 0 && pending[pending.length - 1]!.cb === null) pending.pop();
    if (live === 0) channel?.port1.unref();
  };
}

/**
 * A promise settled after a full turn of the host event loop, timers
 * included: a long loop of runs awaits it now and then so the host's
 * timers (progress display, wall-clock budget) run. A MessageChannel round
 * trip is not enough (messages posted while the port drains are delivered
 * in the same turn, before timers), so this uses `setImmediate`. It decides
 * nothing in the simulation: only when the host looks in.
 *
 * @kernel none: a turn of the host's event loop, outside the simulation
 */
export function hostTurn(): Promise<void> {
  return new Promise<void>((resolve) => {
    // eslint-disable-next-line no-restricted-globals -- host pacing only, never a simulated decision (see above)
    setImmediate(resolve);
  });
}
