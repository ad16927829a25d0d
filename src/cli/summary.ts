/**
 * The run summary (text and `--json`), the exit code of a run, and the
 * one-paragraph messages for runs that could not finish.
 */
import pc from 'picocolors';
import type { RunOutcome } from './supervisor.ts';
import { displayPath, formatCount, formatNs, indent, plural } from './format.ts';
import { Exit } from './exit.ts';
import { formatFolded, formatReportStack } from '../kernel/index.ts';

/** Where a run's outputs went, for the summary. */
export interface SummaryExtras {
  readonly command: 'run' | 'replay';
  readonly replay: string;
  readonly tracePath: string | null;
  readonly reportPath: string | null;
  /** `--ftrace`: the run as kernel trace text. */
  readonly ftracePath?: string | null;
  readonly schedulePath: string | null;
  readonly eventHash: string | null;
}

/** The exit code a run earns. */
export function exitCodeOf(o: RunOutcome): number {
  if (o.status !== 'done' || !o.result) return Exit.ERROR;
  if (o.result.failure) return Exit.ERROR;
  if (o.result.end === 'step-limit' || o.result.end === 'time-limit') return Exit.FINDINGS;
  return o.result.splats.some((s) => s.severity !== 'info') ? Exit.FINDINGS : Exit.OK;
}

/** The paragraph explaining why a run did not end normally (null when it did). */
export function problemOf(o: RunOutcome): string | null {
  const secs = o.timeoutMs / 1000;
  switch (o.status) {
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
      misuse: 'The message says how to call the library correctly.',
    };
    return `${r.failure.message}${r.failure.message.endsWith('.') ? '' : '.'} ${fix[r.failure.kind] ?? ''}`.trim();
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
    `The run was still making progress when the wall-clock watchdog stopped it after ${secs} s (${flag}), at step ${formatCount(p.steps)}, ` +
    `virtual time ${formatNs(p.timeNs)}${p.thread ? `, running "${p.thread}"` : ''}. Raise --timeout, or bound the run with --max-steps / --max-time-ms.`
  );
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? '';
}

/** The human summary: limits, seed, result, splats (headline and body), verdict, outputs, replay command. */
export function formatSummary(o: RunOutcome, x: SummaryExtras): string {
  const out: string[] = [];
  const name = o.info?.name ?? o.request.scenario;
  out.push(pc.bold(`dmabuf-lab ${x.command} ${name}`) + `  (seed ${o.request.seed})`);
  if (o.info?.description) out.push(indent(o.info.description, 2));
  const l = o.limits ?? o.result?.limits;
  const limits = [
    l ? `max steps ${formatCount(l.maxSteps)}` : null,
    l ? `max virtual time ${formatNs(l.maxVirtualTimeNs)}` : null,
    `wall-clock timeout ${o.timeoutMs / 1000} s`,
  ].filter(Boolean);
  out.push(`${label('limits')}${limits.join(', ')}`);
  out.push(
    `${label('seed')}${o.request.seed}${o.request.decisions ? ` (replaying ${plural(o.request.decisions.length, 'recorded decision')})` : ''}`,
  );
  out.push(`${label('checkers')}lockdep ${o.lockdep ? 'on' : 'off'}, race detector + KASAN ${o.races ? 'on' : 'off'}`);
  out.push(`${label('result')}${resultLine(o)}`);
  const thrown = o.result?.failure?.stack;
  if (thrown?.length) {
    out.push(`${label('thrown')}${o.result!.failure!.message}`);
    out.push(indent(formatFolded(thrown).join('\n'), 10));
  }
  for (const n of o.notes) out.push(`${label('note')}${n}`);
  out.push(`${label('splats')}${o.splats.length === 0 ? 'none' : o.splats.length}`);
  for (const s of o.splats) {
    const colour = s.severity === 'info' ? pc.yellow : pc.red;
    out.push(indent(`${colour(`[${s.rule}]`)} ${s.headline}`, 2));
    if (s.body) out.push(indent(s.body, 6));
    if (s.stacks?.length) {
      out.push(
        indent(pc.cyan(`backtraces (innermost first, library frames folded${stackOrigin(o)}):`), 6),
      );
      for (const st of s.stacks) out.push(indent(formatReportStack(st), 8));
    }
    out.push(
      indent(
        pc.dim(
          `thread ${s.thread ?? '-'}, virtual time ${formatNs(s.timeNs)}, step ${formatCount(s.step)}`,
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
        ? pc.red('no verdict: the run failed')
        : some
          ? pc.yellow(`not on this seed: ${v.reason}`)
          : pc.red(`MISMATCH: ${v.reason}`);
    out.push(`${label('expected')}${o.info.expected}: ${judged}`);
  }
  if (x.tracePath)
    out.push(
      `${label('trace')}${displayPath(x.tracePath)} (open it in Perfetto UI, ui.perfetto.dev)`,
    );
  if (x.reportPath)
    out.push(`${label('report')}${displayPath(x.reportPath)} (open it in a browser)`);
  if (x.ftracePath)
    out.push(
      `${label('ftrace')}${displayPath(x.ftracePath)} (dmabuf-lab trace-check ${displayPath(x.ftracePath)})`,
    );
  if (x.eventHash) out.push(`${label('events')}sha256 ${x.eventHash.slice(0, 16)}`);
  if (o.result?.stacksNote) out.push(`${label('stacks')}${o.result.stacksNote}`);
  if (x.schedulePath)
    out.push(
      `${label('schedule')}${displayPath(x.schedulePath)} (dmabuf-lab replay ${displayPath(x.schedulePath)})`,
    );
  out.push(`${label('replay')}${x.replay}`);
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
    return `${r.end} after ${formatCount(r.steps)} steps, virtual time ${formatNs(r.timeNs)}, ${wall}${unused}`;
  }
  const p = o.progress;
  const what =
    o.status === 'timeout'
      ? 'stopped by the watchdog'
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
