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
 */
import { MessageChannel } from 'node:worker_threads';

let channel: MessageChannel | null = null;
const pending: (() => void)[] = [];
let head = 0;

function deliver(): void {
  const cb = pending[head];
  pending[head++] = undefined as unknown as () => void;
  if (head === pending.length) {
    pending.length = 0;
    head = 0;
    channel?.port1.unref();
  }
  cb?.();
}

/** Run `cb` in a later macrotask of the host event loop. */
export function hostMacrotask(cb: () => void): void {
  if (!channel) {
    channel = new MessageChannel();
    channel.port1.on('message', deliver);
  }
  if (pending.length === head) channel.port1.ref();
  pending.push(cb);
  channel.port2.postMessage(0);
}
