/**
 * Ctrl-C (SIGINT) and SIGTERM for the commands that run scenarios or read
 * long inputs: the first signal asks the command to stop and keep what it
 * has (it prints the summary so far, writes the files asked for, and exits
 * 130); a second one exits at once with 130.
 */
import { pcErr } from './colors.ts';

type Handler = (signal: NodeJS.Signals) => void;

const handlers = new Set<Handler>();
let installed = false;
let received: NodeJS.Signals | null = null;

function install(): void {
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      // A second signal, or one while no command has anything to keep: quit now.
      if (received !== null || handlers.size === 0) {
        process.stderr.write(`\n${pcErr.yellow('interrupted')} (${signal})${received === null ? ': nothing had run yet' : ''}\n`);
        process.exit(130);
      }
      received = signal;
      const again = signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM';
      process.stderr.write(
        `\n${pcErr.yellow('interrupted')} (${signal}): stopping; the summary so far and the files asked for follow (${again} again to quit at once)\n`,
      );
      for (const h of [...handlers]) h(signal);
    });
  }
}

/**
 * Call `fn` on the first SIGINT / SIGTERM (at once if one already came).
 * Returns a function that removes it. Installing the first handler makes
 * the command handle signals itself from then on.
 */
export function onInterrupt(fn: Handler): () => void {
  if (!installed) install();
  handlers.add(fn);
  if (received !== null) fn(received);
  return () => {
    handlers.delete(fn);
  };
}

/** Start handling SIGINT / SIGTERM (one that comes while no handler is registered exits 130 at once). */
export function handleInterrupts(): void {
  if (!installed) install();
}

/** The signal received, or null. */
export function interruptSignal(): NodeJS.Signals | null {
  return received;
}
