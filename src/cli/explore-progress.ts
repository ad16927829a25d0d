/**
 * The progress display of `dmabuf-lab explore` on stderr (cli-progress):
 * schedules run against the budget, schedules per second, distinct bugs,
 * distinct schedules (coverage) and the time left. On a terminal it is a
 * live bar; when stderr is not a terminal or `CI` is set, a plain line
 * every 10 s. Nothing is shown for explorations shorter than 2 s.
 */
import { SingleBar } from 'cli-progress';
import type { ExploreCounters } from '../explore/index.ts';
import { formatCount } from './format.ts';

const QUIET_MS = 2000;
const PLAIN_EVERY_MS = 10_000;
const POLL_MS = 250;

/** A running progress display; `stop()` removes it. */
export interface ExploreProgressDisplay {
  stop(): void;
}

/**
 * Show the progress of an exploration with a budget of `budget` schedules
 * (null: none) and `deadlineMs` of wall-clock (performance.now() time;
 * null: none). The bar follows the schedule budget, or the time budget when
 * there is no schedule budget.
 */
export function showExploreProgress(
  scenario: string,
  counters: ExploreCounters,
  budget: number | null,
  deadlineMs: number | null,
  stream: NodeJS.WriteStream = process.stderr,
): ExploreProgressDisplay {
  const live = stream.isTTY && !process.env.CI;
  const started = performance.now();
  let bar: SingleBar | null = null;
  const payload = (): Record<string, string> => {
    const elapsed = (performance.now() - started) / 1000;
    const n = counters.schedules;
    const left = deadlineMs === null ? '-' : `${Math.max(0, (deadlineMs - performance.now()) / 1000).toFixed(0)} s`;
    const rate = n / Math.max(elapsed, 1e-3);
    return {
      scenario,
      rate: rate >= 10 ? formatCount(Math.round(rate)) : rate.toFixed(2),
      budget: budget === null ? '' : `/${formatCount(budget)}`,
      bugs: String(counters.bugs),
      distinct: formatCount(counters.distinct),
      left,
      count: formatCount(n),
    };
  };
  const poll = setInterval(() => {
    if (performance.now() - started < QUIET_MS) return;
    if (!bar) {
      bar = new SingleBar({
        format: 'explore {scenario} [{bar}] {count}{budget} schedules | {rate}/s | {bugs} bugs | {distinct} distinct | time left {left}',
        stream: live ? stream : plainStream(stream),
        noTTYOutput: !live,
        notTTYSchedule: PLAIN_EVERY_MS,
        clearOnComplete: true,
        hideCursor: live,
        barsize: 20,
      });
      bar.start(budget ?? Math.max(1, (deadlineMs ?? started) - started), 0, payload());
    }
    const value = budget !== null ? Math.min(counters.schedules, budget) : performance.now() - started;
    bar.update(value, payload());
  }, POLL_MS);
  poll.unref();
  return {
    stop(): void {
      clearInterval(poll);
      bar?.stop();
      bar = null;
    },
  };
}

/** stderr as cli-progress should see it when the output must be plain lines (not a terminal, or CI). */
function plainStream(stream: NodeJS.WriteStream): NodeJS.WritableStream {
  return {
    isTTY: false,
    columns: 200,
    write: (s: string) => stream.write(s),
  } as unknown as NodeJS.WritableStream;
}
