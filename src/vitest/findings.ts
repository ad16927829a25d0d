/**
 * What the matchers judge, taken from a run or an exploration: the splats it
 * reported, the problems that keep it from being clean (a failed run, a
 * limit), and the command that replays each. One shape, whatever produced it:
 * a `ScenarioRun` from `runScenario`, a `TestRun` or `TestExploration` from
 * this entry, or another exploration result with a `bugs` list.
 */
import type { Splat } from '../kernel/index.ts';
import type { ScenarioRun } from '../scenario/index.ts';

/** One splat and how to see it again. */
export interface Finding {
  readonly splat: Splat;
  /** Command or call that reproduces the run that showed it. */
  readonly replay: string;
  /** Schedules (runs) that showed it, for an exploration; 1 for a run. */
  readonly count: number;
}

/** Everything a matcher needs from a result. */
export interface Findings {
  /** `mutex-abba (seed 2)`, `ww-backoff: 200 schedules`. */
  readonly subject: string;
  readonly findings: readonly Finding[];
  /** Why it is not clean besides splats: a failed run, a limit reached. */
  readonly problems: readonly string[];
}

/**
 * A bug as an exploration reports it. Structural, so that an explorer's own
 * result type (`bugs` of distinct splats, each with a replay command) is
 * accepted as it is.
 */
export interface ExplorationBugLike {
  readonly splat: Splat;
  readonly replay?: string;
  /** Schedules that showed it (`schedules` in `explore()`'s bugs). */
  readonly count?: number;
  readonly schedules?: number;
}

/** Any exploration result the matchers accept. */
export interface ExplorationLike {
  readonly bugs: readonly ExplorationBugLike[];
  /** `explore()`'s scenario reference and schedule count, for the subject and the replay hint. */
  readonly scenario?: { readonly name?: string; readonly ref?: string };
  readonly schedules?: number;
  /** Why some schedules could not be judged (failed runs, limits). */
  readonly problems?: readonly string[];
  /** Shown in messages; e.g. `ww-backoff: 200 schedules`. */
  readonly subject?: string;
}

/** A run, possibly with the replay command a helper worked out. */
export type RunLike = ScenarioRun & { readonly replay?: string };

function isRun(x: unknown): x is RunLike {
  return (
    typeof x === 'object' &&
    x !== null &&
    'result' in x &&
    'verdict' in x &&
    Array.isArray((x as ScenarioRun).result.splats)
  );
}

function isExploration(x: unknown): x is ExplorationLike {
  return typeof x === 'object' && x !== null && Array.isArray((x as ExplorationLike).bugs);
}

/** The replay of a run given as an object, not by name or file: a call, since no command can name it. */
export function replayCall(scenario: string, seed: number): string {
  return `runInTest(<scenario ${scenario}>, { seed: ${seed} })`;
}

/**
 * Normalise `x` for the matchers; `undefined` when it is neither a run nor an
 * exploration (the matcher then says what it expected).
 */
export function findingsOf(x: unknown): Findings | undefined {
  if (isRun(x)) {
    const replay = x.replay ?? replayCall(x.scenario.name, x.seed);
    const r = x.result;
    const problems: string[] = [];
    if (r.failure)
      problems.push(
        `the run failed (${r.failure.kind}${r.failure.thread ? ` in thread ${r.failure.thread}` : ''}): ${r.failure.message}`,
      );
    if (r.end === 'step-limit' || r.end === 'time-limit')
      problems.push(`the run stopped at its ${r.end} (${r.steps} steps)`);
    return {
      subject: `${x.scenario.name} (seed ${x.seed})`,
      findings: r.splats.map((splat) => ({ splat, replay, count: 1 })),
      problems,
    };
  }
  if (isExploration(x)) {
    const name = x.scenario?.name;
    const ref = x.scenario?.ref;
    // explore()'s bugs carry their schedule, not a command: its CLI saves and replays them.
    const hint = ref
      ? `dmabuf-lab explore ${ref} --trace-dir DIR saves its shrunk schedule; dmabuf-lab replay runs it`
      : '(no replay command given)';
    return {
      subject:
        x.subject ??
        (name && typeof x.schedules === 'number'
          ? `${name}: ${x.schedules} schedules explored`
          : 'the exploration'),
      findings: x.bugs.map((b) => ({
        splat: b.splat,
        replay: b.replay ?? hint,
        count: b.count ?? b.schedules ?? 1,
      })),
      problems: x.problems ?? [],
    };
  }
  return undefined;
}

/** A splat as the kernel would print it: rule id, headline, body, where. */
export function splatText(s: Splat): string {
  const body = s.body
    ? `\n${s.body
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n')}`
    : '';
  return `[${s.rule}] ${s.headline}${body}\n    (thread ${s.thread ?? '-'}, virtual time ${s.timeNs} ns, step ${s.step})`;
}

/** A finding with its replay line, for a failure message. */
export function findingText(f: Finding): string {
  const seen = f.count > 1 ? ` (seen on ${f.count} schedules)` : '';
  return `${splatText(f.splat)}\n  replay: ${f.replay}${seen}`;
}
