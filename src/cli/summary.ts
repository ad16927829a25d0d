/**
 * The run summary (text and `--json`), the exit code of a run, and the
 * one-paragraph messages for runs that could not finish.
 */
import { pc } from './colors.ts';
import type { RunOutcome } from './supervisor.ts';
import { displayPath, formatCount, formatNs, indent, plural, safe, safeLine } from './format.ts';
import { Exit } from './exit.ts';
// The leaf, not the kernel index: the main thread of `run` loads no model.
import { formatFolded, formatReportStack } from '../kernel/stack.ts';
import type { FoldedFrame } from '../kernel/stack.ts';

/** Where a run's outputs went, for the summary. */
export interface SummaryExtras {
  readonly command: 'run' | 'replay';
  readonly replay: string;
  readonly tracePath: string | null;
  readonly reportPath: string | null;
  /** `--ftrace`: the run as kernel trace text. */
  readonly ftracePath?: string | null;
  readonly schedulePath: string | null;
  /** The schedule saved is partial (the run was stopped before its end). */
  readonly schedulePartial?: boolean;
  readonly eventHash: string | null;
}

/**
 * The exit code a run earns: 130 when stopped by a signal; 1 for findings
 * and for every limit (steps, virtual time, and the wall-clock --timeout of
 * a run still making progress); 2 when the scenario could not be run (a
 * stuck loop, a throw, a foreign await, a crash).
 */
export function exitCodeOf(o: RunOutcome): number {
  if (o.stoppedBy === 'signal') return Exit.INTERRUPTED;
  if (o.status === 'timeout') return o.stuck ? Exit.ERROR : Exit.FINDINGS;
  if (o.status !== 'done' || !o.result) return Exit.ERROR;
  // Stopped at the wall-clock limit while progressing, or at the end of a partial schedule: a limit.
  if (o.result.failure?.kind === 'interrupted') return Exit.FINDINGS;
  if (o.result.failure) return Exit.ERROR;
  if (o.result.end === 'step-limit' || o.result.end === 'time-limit') return Exit.FINDINGS;
  return o.result.splats.some((s) => s.severity !== 'info') ? Exit.FINDINGS : Exit.OK;
}

/** The paragraph explaining why a run did not end normally (null when it did). */
export function problemOf(o: RunOutcome): string | null {
  const secs = o.timeoutMs / 1000;
  if (o.stoppedBy === 'signal') {
    const p = o.progress;
    return (
      `Interrupted in ${p.phase} at step ${formatCount(o.result?.steps ?? p.steps)}, virtual time ${formatNs(o.result?.timeNs ?? p.timeNs)}` +
      `${o.status === 'interrupted' ? (p.phase === 'run' ? ' (the run did not stop by itself in time: no schedule)' : ' (before the run started: no schedule)') : ''}; what is above covers the run so far.`
    );
  }
  switch (o.status) {
    case 'interrupted':
      return 'Interrupted.';
    case 'scenario-error':
      return o.error?.message ?? 'the scenario could not be run';
    case 'crashed':
      return (
        `internal error: the run's worker stopped unexpectedly (${firstLine(o.error?.message ?? '')}). ` +
        'If the scenario leaves a promise rejection unhandled (a floating promise), await it inside a thread; ' +
        'otherwise this is a bug in dmabuf-lab: please report it with the replay command above.'
      );
    case 'timeout':
      return timeoutMessage(o, secs);
    case 'done':
      break;
  }
  const r = o.result!;
  if (r.failure) {
    const fix: Record<string, string> = {
      'foreign-await':
        'Replace it with a kernel operation: msleep(k, ms) or usleepRange for delays, a Completion or a WaitQueueHead to wait for another simulated thread.',
      'thread-exception': r.failure.stack?.length
        ? 'Fix the exception in the scenario (where it was thrown is listed under "thrown").'
        : 'Fix the exception in the scenario.',
      'replay-divergence':
        'The scenario changed since the schedule was recorded, or it is not deterministic (it must not use Math.random, Date.now or host timers). Record a new schedule.',
    };
    if (r.failure.kind === 'interrupted') {
      return o.stoppedBy === 'timeout'
        ? timeoutMessage(o, secs)
        : `${r.failure.message}: the replay stops where the recorded decisions end.`;
    }
    const site = r.failure.kind === 'thread-exception' ? userSite(r.failure.stack) : null;
    const first = `${r.failure.message}${site ? ` (at ${site})` : ''}`;
    return `${first}${first.endsWith('.') ? '' : '.'} ${fix[r.failure.kind] ?? ''}`.trim();
  }
  if (r.end === 'step-limit') {
    return (
      `The run stopped at the step limit (${formatCount(r.limits.maxSteps)} scheduling steps) before every thread finished. ` +
      'If the scenario needs more steps, raise --max-steps; if a thread polls in a loop whose condition never becomes true, that is a livelock: make it wait on a wait queue or completion instead.'
    );
  }
  if (r.end === 'time-limit') {
    return (
      `The run stopped at the virtual-time limit (${formatNs(r.limits.maxVirtualTimeNs)}) before every thread finished. ` +
      'If the scenario needs more virtual time, raise --max-time-ms; if a thread re-arms a timer or sleeps in a loop forever, give the loop an end.'
    );
  }
  return null;
}

function timeoutMessage(o: RunOutcome, secs: number): string {
  const p = o.progress;
  const flag = `--timeout ${secs}`;
  if (p.phase === 'start' || p.phase === 'load') {
    return `Loading the scenario did not finish within ${(o.wallMs / 1000).toFixed(0)} s: its module never finished evaluating (a top-level loop, or a top-level await that never settles). Fix the module.`;
  }
  if (p.phase === 'setup') {
    return `The scenario's setup did not return within ${secs} s (${flag}). setup runs once before the simulation, outside any thread: a loop in it never ends. Move waiting into a thread started with k.kthreadRun, or raise --timeout.`;
  }
  if (o.stuck && p.thread) {
    return (
      `The run was stopped by the wall-clock watchdog after ${secs} s (${flag}): thread "${p.thread}" was running and never reached a kernel operation ` +
      `(stuck at step ${formatCount(p.steps)}, virtual time ${formatNs(p.timeNs)}). A simulated thread keeps the CPU until it awaits a kernel operation, ` +
      'so a loop that awaits none (spinning on a flag or a condition) never lets another thread run. ' +
      'Make the loop await a kernel operation (condResched(k), msleep, a wait queue or a completion), or raise --timeout if the run is only long.'
    );
  }
  if (o.stuck) {
    return `The run was stopped by the wall-clock watchdog after ${secs} s (${flag}) outside any thread (in a timer function or an end-of-run check that never returns). Give that loop an end, or raise --timeout.`;
  }
  return (
    `The run was still making progress when the wall-clock limit stopped it after ${secs} s (${flag}), at step ${formatCount(o.result?.steps ?? p.steps)}, ` +
    `virtual time ${formatNs(o.result?.timeNs ?? p.timeNs)}${p.thread ? `, running "${p.thread}"` : ''}. A limit, like --max-steps: raise --timeout, or bound the run with --max-steps / --max-time-ms.`
  );
}

/** `file:line:col` of the innermost user frame of a folded stack. */
function userSite(stack: readonly FoldedFrame[] | undefined): string | null {
  const f = stack?.find((x) => x.kind === 'user');
  return f && f.kind === 'user' ? `${f.file}:${f.line}:${f.col}` : null;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? '';
}

/**
 * The human summary: limits, seed, result, splats (headline and body),
 * verdict, outputs, replay command. Text from the scenario (names, notes,
 * messages, paths) has its control characters escaped.
 */
export function formatSummary(o: RunOutcome, x: SummaryExtras): string {
  const out: string[] = [];
  const name = safeLine(o.info?.name ?? o.request.scenario);
  out.push(pc.bold(`dmabuf-lab ${x.command} ${name}`) + `  (seed ${o.request.seed})`);
  if (o.info?.description) out.push(indent(safe(o.info.description), 2));
  const l = o.limits ?? o.result?.limits;
  const limits = [
    l ? `max steps ${formatCount(l.maxSteps)}` : null,
    l ? `max virtual time ${formatNs(l.maxVirtualTimeNs)}` : null,
    `wall-clock timeout ${o.timeoutMs / 1000} s`,
  ].filter(Boolean);
  out.push(`${label('limits')}${limits.join(', ')}`);
  out.push(
    `${label('seed')}${o.request.seed}${o.request.decisions ? ` (replaying ${plural(o.request.decisions.length, 'recorded decision')}${o.request.partial ? ' of a partial schedule' : ''})` : ''}`,
  );
  out.push(`${label('checkers')}lockdep ${o.lockdep ? 'on' : 'off'}, race detector + KASAN ${o.races ? 'on' : 'off'}`);
  out.push(`${label('result')}${resultLine(o)}`);
  const thrown = o.result?.failure?.stack;
  if (thrown?.length) {
    out.push(`${label('thrown')}${safe(o.result!.failure!.message)}`);
    out.push(indent(safe(formatFolded(thrown).join('\n')), 10));
  }
  for (const n of o.notes) out.push(`${label('note')}${safe(n)}`);
  out.push(`${label('splats')}${o.splats.length === 0 ? 'none' : o.splats.length}`);
  for (const s of o.splats) {
    const colour = s.severity === 'info' ? pc.yellow : pc.red;
    out.push(indent(`${colour(`[${safeLine(s.rule)}]`)} ${safeLine(s.headline)}`, 2));
    if (s.body) out.push(indent(safe(s.body), 6));
    if (s.stacks?.length) {
      out.push(
        indent(pc.cyan(`backtraces (innermost first, library frames folded${stackOrigin(o)}):`), 6),
      );
      for (const st of s.stacks) out.push(indent(safe(formatReportStack(st)), 8));
    }
    out.push(
      indent(
        pc.dim(
          `thread ${safeLine(s.thread ?? '-')}, virtual time ${formatNs(s.timeNs)}, step ${formatCount(s.step)}`,
        ),
        6,
      ),
    );
  }
  if (o.info && o.verdict) {
    const v = o.verdict;
    const some = o.info.expect.verdict === 'splat' && o.info.expect.seeds === 'some';
    const judged = v.matches
      ? pc.green('this run matches')
      : v.actual === 'error'
        ? pc.red(o.result?.failure?.kind === 'interrupted' ? 'no verdict: the run was stopped' : 'no verdict: the run failed')
        : some
          ? pc.yellow(`not on this seed: ${safeLine(v.reason)}`)
          : pc.red(`MISMATCH: ${safeLine(v.reason)}`);
    out.push(`${label('expected')}${safeLine(o.info.expected)}: ${judged}`);
  }
  if (x.tracePath)
    out.push(
      `${label('trace')}${safeLine(displayPath(x.tracePath))} (open it in Perfetto UI, ui.perfetto.dev)`,
    );
  if (x.reportPath)
    out.push(`${label('report')}${safeLine(displayPath(x.reportPath))} (open it in a browser)`);
  if (x.ftracePath)
    out.push(
      `${label('ftrace')}${safeLine(displayPath(x.ftracePath))} (dmabuf-lab trace-check ${safeLine(displayPath(x.ftracePath))})`,
    );
  if (x.eventHash) out.push(`${label('events')}sha256 ${x.eventHash.slice(0, 16)}`);
  if (o.result?.stacksNote) out.push(`${label('stacks')}${safe(o.result.stacksNote)}`);
  if (x.schedulePath)
    out.push(
      `${label('schedule')}${safeLine(displayPath(x.schedulePath))}${x.schedulePartial ? ' (partial: the run was stopped)' : ''} (dmabuf-lab replay ${safeLine(displayPath(x.schedulePath))})`,
    );
  out.push(`${label('replay')}${safeLine(x.replay)}`);
  return out.join('\n');
}

/**
 * `--quiet`: nothing for a clean run; otherwise one line per splat (rule
 * and headline) and the replay command. Errors still go to stderr.
 */
export function formatQuiet(o: RunOutcome, x: SummaryExtras): string | null {
  const serious = o.splats.filter((s) => s.severity !== 'info');
  if (serious.length === 0) return null;
  const out = serious.map((s) => `${pc.red(`[${safeLine(s.rule)}]`)} ${safeLine(s.headline)}`);
  out.push(`${label('replay')}${safeLine(x.replay)}`);
  return out.join('\n');
}

/** Where the backtraces of a run's splats come from, for their heading. */
function stackOrigin(o: RunOutcome): string {
  return o.result?.stacks === 'replayed'
    ? '; from a replay of this schedule with stack capture'
    : '';
}

function label(s: string): string {
  return pc.cyan(`${s}:`.padEnd(10));
}

function resultLine(o: RunOutcome): string {
  const wall = `wall ${(o.wallMs / 1000).toFixed(2)} s`;
  if (o.status === 'done' && o.result) {
    const r = o.result;
    const unused =
      r.unusedDecisions > 0 ? `, ${plural(r.unusedDecisions, 'recorded decision')} unused` : '';
    if (r.failure?.kind === 'interrupted')
      return `${o.stoppedBy === 'signal' ? 'interrupted' : o.stoppedBy === 'timeout' ? 'stopped at the wall-clock limit' : 'stopped at the end of the partial schedule'} after ${formatCount(r.steps)} steps, virtual time ${formatNs(r.timeNs)}, ${wall}${unused}`;
    return `${r.end} after ${formatCount(r.steps)} steps, virtual time ${formatNs(r.timeNs)}, ${wall}${unused}`;
  }
  const p = o.progress;
  const what =
    o.status === 'timeout'
      ? 'stopped by the watchdog'
      : o.status === 'interrupted'
        ? 'interrupted'
        : o.status === 'crashed'
          ? 'crashed'
          : 'not run';
  return `${what} in ${p.phase} at step ${formatCount(p.steps)}, virtual time ${formatNs(p.timeNs)}, ${wall}`;
}

/** The `--json` form of a run. */
export function summaryJson(
  o: RunOutcome,
  x: SummaryExtras,
  exitCode: number,
): Record<string, unknown> {
  return {
    command: x.command,
    scenario: o.info ?? { ref: o.request.scenario },
    seed: o.request.seed,
    limits: { ...(o.limits ?? o.result?.limits ?? {}), timeoutMs: o.timeoutMs },
    lockdep: o.lockdep,
    races: o.races,
    status: o.status,
    stoppedBy: o.stoppedBy,
    warnings: o.warnings,
    result: o.result
      ? {
          end: o.result.end,
          steps: o.result.steps,
          timeNs: o.result.timeNs,
          exits: o.result.exits,
          unusedDecisions: o.result.unusedDecisions,
        }
      : {
          end: null,
          steps: o.progress.steps,
          timeNs: o.progress.timeNs,
          phase: o.progress.phase,
          runningThread: o.progress.thread,
        },
    wallMs: Math.round(o.wallMs),
    splats: o.splats,
    failure: o.result?.failure ?? null,
    notes: o.notes,
    verdict: o.verdict,
    error:
      o.status === 'done' && !o.result?.failure
        ? null
        : { kind: o.error?.kind ?? o.result?.failure?.kind ?? o.status, message: problemOf(o) },
    problem: problemOf(o),
    trace: x.tracePath,
    report: x.reportPath,
    ftrace: x.ftracePath ?? null,
    schedule: x.schedulePath,
    eventHash: x.eventHash,
    stacks: o.result?.stacks ?? 'off',
    stacksNote: o.result?.stacksNote ?? null,
    replay: x.replay,
    exitCode,
  };
}
