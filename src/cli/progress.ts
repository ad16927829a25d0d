/**
 * Progress of long runs on stderr: one live line rewritten in place when
 * stderr is a terminal and `CI` is unset; otherwise a plain line every
 * `PLAIN_EVERY_MS`. Nothing is printed for runs shorter than `QUIET_MS`.
 */
import type { ProgressSink, RunProgress } from './supervisor.ts';
import { formatCount, formatNs } from './format.ts';

const QUIET_MS = 2000;
const PLAIN_EVERY_MS = 10_000;

/** A progress sink writing to `stream` (default stderr). */
export function progressSink(stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  const live = stream.isTTY && !process.env.CI;
  let shown = false;
  let lastPlain = 0;
  return {
    update(p: RunProgress, elapsedMs: number, scenario: string): void {
      if (elapsedMs < QUIET_MS) return;
      const where =
        p.phase === 'run'
          ? `${formatCount(p.steps)} steps, virtual time ${formatNs(p.timeNs)}${p.thread ? `, running ${p.thread}` : ''}`
          : `in ${p.phase}`;
      const line = `${scenario}: ${where} (${(elapsedMs / 1000).toFixed(0)} s)`;
      if (live) {
        stream.write(`\r\x1b[K${line}`);
        shown = true;
      } else if (elapsedMs - lastPlain >= PLAIN_EVERY_MS) {
        lastPlain = elapsedMs;
        stream.write(`progress: ${line}\n`);
      }
    },
    done(): void {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
      lastPlain = 0;
    },
  };
}
