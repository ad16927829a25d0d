/**
 * `dmabuf-lab run <scenario>` and `dmabuf-lab replay <schedule.json>`: one
 * run in a watched worker, then the summary, the trace and the saved
 * schedule, written on every path the run can take.
 */
import { resolve } from 'node:path';
import pc from 'picocolors';
import type { Decision, KernelLimits } from '../kernel/index.ts';
import { eventStreamHash } from '../trace/index.ts';
import { displayPath, forTerminal, printError, shellWord } from './format.ts';
import { loadSchedule, saveSchedule, writeFtrace, writeReport, writeTrace } from './outputs.ts';
import { progressSink } from './progress.ts';
import { Exit } from './exit.ts';
import { exitCodeOf, formatSummary, problemOf, summaryJson } from './summary.ts';
import type { SummaryExtras } from './summary.ts';
import { RunWorker } from './supervisor.ts';

/** Options shared by `run` and `replay`. */
export interface RunOptions {
  seed?: number;
  trace?: string;
  json?: boolean;
  timeout: number;
  maxSteps?: number;
  maxTimeMs?: number;
  stacks?: boolean;
  saveSchedule?: string;
  report?: string;
  /** commander's negation of `--no-races`: false switches the race detector and KASAN off. */
  races?: boolean;
  /** Write the run as kernel trace text (`dma_fence` and 6.17 `gpu_scheduler` events). */
  ftrace?: string;
}

/**
 * The replay with stack capture happens only after a run that took at most
 * this share of the wall-clock timeout: capture makes lock-heavy runs up to
 * about 15 times slower (measured on gpu-seqno-wrap), and the watchdog covers both.
 */
const RESTACK_SHARE = 30;

function limitsOf(o: RunOptions): Partial<KernelLimits> {
  return {
    ...(o.maxSteps !== undefined ? { maxSteps: o.maxSteps } : {}),
    ...(o.maxTimeMs !== undefined ? { maxVirtualTimeNs: o.maxTimeMs * 1e6 } : {}),
  };
}

function limitFlags(l: Partial<KernelLimits>): string {
  return (
    (l.maxSteps !== undefined ? ` --max-steps ${l.maxSteps}` : '') +
    (l.maxVirtualTimeNs !== undefined ? ` --max-time-ms ${l.maxVirtualTimeNs / 1e6}` : '')
  );
}

/** `dmabuf-lab run`. Returns the exit code. */
export async function runCommand(ref: string, opts: RunOptions): Promise<number> {
  const seed = opts.seed ?? 1;
  const limits = limitsOf(opts);
  // The worker resolves a relative path against the same working directory.
  const replay = (shown: string): string =>
    `dmabuf-lab run ${shellWord(shown)} --seed ${seed}${limitFlags(limits)}${opts.races === false ? ' --no-races' : ''}`;
  return execute({ scenario: ref, seed, limits, opts, replay, command: 'run' });
}

/** `dmabuf-lab replay`. Returns the exit code. */
export async function replayCommand(file: string, opts: RunOptions): Promise<number> {
  let s;
  try {
    s = loadSchedule(resolve(file));
  } catch (e) {
    printError((e as Error).message);
    return Exit.ERROR;
  }
  const limits = { ...s.limits, ...limitsOf(opts) };
  return execute({
    scenario: s.scenario,
    seed: s.seed,
    limits,
    decisions: s.decisions,
    opts,
    replay: () => `dmabuf-lab replay ${shellWord(displayPath(resolve(file)))}`,
    command: 'replay',
  });
}

interface Execution {
  scenario: string;
  seed: number;
  limits: Partial<KernelLimits>;
  decisions?: readonly Decision[];
  opts: RunOptions;
  /** The replay command, given the scenario as the user would type it. */
  replay: (shown: string) => string;
  command: 'run' | 'replay';
}

async function execute(x: Execution): Promise<number> {
  const { opts } = x;
  const worker = new RunWorker({
    timeoutMs: opts.timeout * 1000,
    progress: progressSink(),
    stdoutToStderr: opts.json ?? false,
  });
  const outcome = await worker.run({
    scenario: x.scenario,
    seed: x.seed,
    trace: opts.trace !== undefined || opts.report !== undefined || opts.ftrace !== undefined,
    stacks: opts.stacks ?? false,
    // A run that reports something is replayed with stacks on, unless it was long.
    restack: 'on-report',
    restackWithinMs: (opts.timeout * 1000) / RESTACK_SHARE,
    hash: true,
    limits: x.limits,
    ...(opts.races === false ? { races: false } : {}),
    ...(x.decisions ? { decisions: x.decisions } : {}),
  });
  await worker.close();
  const info = outcome.info;
  const replay = x.replay(info ? (info.builtin ? info.ref : displayPath(info.ref)) : x.scenario);

  const code = exitCodeOf(outcome);
  const problem = problemOf(outcome);
  if (outcome.status === 'scenario-error') {
    // Nothing ran: the message is the whole report.
    if (opts.json)
      process.stdout.write(
        `${JSON.stringify({ command: x.command, scenario: x.scenario, error: outcome.error, problem, exitCode: code }, null, 2)}\n`,
      );
    printError(problem ?? 'the scenario could not be run');
    return code;
  }

  let tracePath: string | null = null;
  const notes: string[] = [];
  if (opts.trace !== undefined && outcome.events) {
    tracePath = resolve(opts.trace);
    try {
      writeTrace(tracePath, outcome, replay);
    } catch (e) {
      notes.push(`the trace could not be written to ${opts.trace}: ${(e as Error).message}`);
      tracePath = null;
    }
  }
  let reportPath: string | null = null;
  if (opts.report !== undefined) {
    reportPath = resolve(opts.report);
    try {
      writeReport(reportPath, outcome, replay);
    } catch (e) {
      notes.push(`the report could not be written to ${opts.report}: ${(e as Error).message}`);
      reportPath = null;
    }
  }
  let ftracePath: string | null = null;
  if (opts.ftrace !== undefined && outcome.events) {
    ftracePath = resolve(opts.ftrace);
    try {
      writeFtrace(ftracePath, outcome.events, replay);
    } catch (e) {
      notes.push(
        `the kernel trace could not be written to ${opts.ftrace}: ${(e as Error).message}`,
      );
      ftracePath = null;
    }
  }
  let schedulePath: string | null = null;
  if (opts.saveSchedule !== undefined) {
    if (outcome.result) {
      schedulePath = resolve(opts.saveSchedule);
      saveSchedule(schedulePath, {
        scenario: info?.ref ?? x.scenario,
        seed: x.seed,
        limits: x.limits,
        decisions: outcome.result.decisions,
      });
    } else {
      notes.push('no schedule was saved: the run did not finish');
    }
  }
  const extras: SummaryExtras = {
    command: x.command,
    replay,
    tracePath,
    reportPath,
    ftracePath,
    schedulePath,
    eventHash:
      outcome.result?.eventHash ??
      (outcome.events && outcome.status === 'done' ? eventStreamHash(outcome.events) : null),
  };
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ ...summaryJson(outcome, extras, code), warnings: notes }, null, 2)}\n`,
    );
  } else {
    process.stdout.write(`${formatSummary(outcome, extras)}\n`);
  }
  for (const n of notes) process.stderr.write(`${pc.yellow('warning:')} ${n}\n`);
  if (problem) {
    if (code === Exit.ERROR) printError(problem);
    else process.stderr.write(`${pc.yellow('limit:')} ${forTerminal(problem)}\n`);
  }
  return code;
}
