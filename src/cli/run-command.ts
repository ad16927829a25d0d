/**
 * `dmabuf-lab run <scenario>` and `dmabuf-lab replay <schedule.json>`: one
 * run in a watched worker, then the summary, the trace and the saved
 * schedule, written on every path the run can take (a finished run, a
 * limit, the watchdog, Ctrl-C). A file that cannot be written is reported
 * after the summary, one line each, and the command exits 2.
 */
import { resolve } from 'node:path';
import type { Decision, KernelLimits } from '../kernel/index.ts';
import { pcErr } from './colors.ts';
import { Artefacts } from './artefacts.ts';
import { displayPath, forTerminal, printError, safe, shellWord } from './format.ts';
import { onInterrupt } from './interrupts.ts';
import { progressSink } from './progress.ts';
import { Exit } from './exit.ts';
import { saveSchedule, scheduleScenario } from './schedule-file.ts';
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
  /** commander's negation of `--no-lockdep`: false switches lockdep off. */
  lockdep?: boolean;
  /** Print nothing for a clean run, one line per splat otherwise. */
  quiet?: boolean;
  /** Write the run as kernel trace text (`dma_fence` and 6.17 `gpu_scheduler` events). */
  ftrace?: string;
  /** replay: the scenario to replay the schedule on (a file the user names, loaded without the schedule's trust check). */
  scenario?: string;
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

function checkerFlags(races: boolean, lockdep: boolean): string {
  return `${races ? '' : ' --no-races'}${lockdep ? '' : ' --no-lockdep'}`;
}

/** `dmabuf-lab run`. Returns the exit code. */
export async function runCommand(ref: string, opts: RunOptions): Promise<number> {
  const seed = opts.seed ?? 1;
  const limits = limitsOf(opts);
  const races = opts.races !== false;
  const lockdep = opts.lockdep !== false;
  // The worker resolves a relative path against the same working directory.
  const replay = (shown: string): string =>
    `dmabuf-lab run ${shellWord(shown)} --seed ${seed}${limitFlags(limits)}${checkerFlags(races, lockdep)}`;
  return execute({ scenario: ref, seed, limits, races, lockdep, partial: false, opts, replay, command: 'run', notes: [] });
}

/** `dmabuf-lab replay`. Returns the exit code. */
export async function replayCommand(file: string, opts: RunOptions): Promise<number> {
  // The schedule reader validates with zod: loaded only by replay.
  const { loadSchedule } = await import('./schedule-load.ts');
  let s;
  try {
    s = loadSchedule(resolve(file), opts.scenario);
  } catch (e) {
    printError((e as Error).message);
    return Exit.ERROR;
  }
  const limits = { ...s.limits, ...limitsOf(opts) };
  const races = opts.races !== false && s.checkers.races !== false;
  const lockdep = opts.lockdep !== false && s.checkers.lockdep !== false;
  const over = opts.scenario !== undefined ? ` --scenario ${shellWord(opts.scenario)}` : '';
  return execute({
    scenario: s.scenario,
    seed: s.seed,
    limits,
    races,
    lockdep,
    partial: !s.complete,
    ...(s.stopAtStep !== undefined ? { stopAtStep: s.stopAtStep } : {}),
    decisions: s.decisions,
    opts,
    replay: () => `dmabuf-lab replay ${shellWord(displayPath(resolve(file)))}${over}`,
    command: 'replay',
    notes: [...s.notes],
  });
}

interface Execution {
  scenario: string;
  seed: number;
  limits: Partial<KernelLimits>;
  races: boolean;
  lockdep: boolean;
  /** The decisions are a partial schedule: the run stops where they end. */
  partial: boolean;
  stopAtStep?: number;
  decisions?: readonly Decision[];
  opts: RunOptions;
  /** The replay command, given the scenario as the user would type it. */
  replay: (shown: string) => string;
  command: 'run' | 'replay';
  /** Warnings to print after the summary. */
  notes: string[];
}

async function execute(x: Execution): Promise<number> {
  const { opts } = x;
  const worker = new RunWorker({
    timeoutMs: opts.timeout * 1000,
    progress: opts.quiet ? null : progressSink(),
    stdoutToStderr: opts.json ?? false,
  });
  // Ctrl-C / SIGTERM: the run stops with what it has; the files asked for are written below.
  const unhook = onInterrupt((signal) => {
    worker.interrupt(`interrupted by ${signal}`);
  });
  let outcome;
  let summary: typeof import('./summary.ts');
  let outputs: typeof import('./outputs.ts') | null = null;
  try {
    const running = worker.run({
      scenario: x.scenario,
      seed: x.seed,
      trace: opts.trace !== undefined || opts.report !== undefined || opts.ftrace !== undefined,
      stacks: opts.stacks ?? false,
      // A run that reports something is replayed with stacks on, unless it was long.
      restack: 'on-report',
      restackWithinMs: (opts.timeout * 1000) / RESTACK_SHARE,
      hash: true,
      limits: x.limits,
      ...(x.races ? {} : { races: false }),
      ...(x.lockdep ? {} : { lockdep: false }),
      ...(x.decisions ? { decisions: x.decisions } : {}),
      ...(x.partial ? { partial: true } : {}),
      ...(x.stopAtStep !== undefined ? { stopAtStep: x.stopAtStep } : {}),
    });
    // Start-up: the worker is started first; what the summary and the output
    // files need (the kernel's stack formatting, the trace writers and with
    // them every layer) loads here while it runs, the writers only when asked for.
    const wantsOutputs = opts.trace !== undefined || opts.report !== undefined || opts.ftrace !== undefined;
    [summary, outputs] = await Promise.all([import('./summary.ts'), wantsOutputs ? import('./outputs.ts') : null]);
    outcome = await running;
  } finally {
    unhook();
    await worker.close();
  }
  const info = outcome.info;
  const replay = x.replay(info ? (info.builtin ? info.ref : displayPath(info.ref)) : x.scenario);

  const { exitCodeOf, formatQuiet, formatSummary, problemOf, summaryJson } = summary;
  const runCode = exitCodeOf(outcome);
  let code = runCode;
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

  const files = new Artefacts();
  const notes = [...x.notes, ...outcome.warnings];
  let tracePath: string | null = null;
  if (opts.trace !== undefined && outcome.events) {
    const p = resolve(opts.trace);
    if (files.write('trace', p, () => { outputs!.writeTrace(p, outcome, replay); })) tracePath = p;
  }
  let reportPath: string | null = null;
  if (opts.report !== undefined) {
    const p = resolve(opts.report);
    if (files.write('report', p, () => { outputs!.writeReport(p, outcome, replay); })) reportPath = p;
  }
  let ftracePath: string | null = null;
  if (opts.ftrace !== undefined && outcome.events) {
    const p = resolve(opts.ftrace);
    const events = outcome.events;
    if (files.write('kernel trace', p, () => { outputs!.writeFtrace(p, events, replay); })) ftracePath = p;
  }
  let schedulePath: string | null = null;
  const partial = outcome.result?.failure?.kind === 'interrupted';
  if (opts.saveSchedule !== undefined) {
    const result = outcome.result;
    if (result) {
      const p = resolve(opts.saveSchedule);
      const written = files.write('schedule', p, () => { saveSchedule(p, {
          scenario: scheduleScenario(p, info?.ref ?? x.scenario, info?.name),
          seed: x.seed,
          ...(Object.keys(x.limits).length ? { limits: x.limits } : {}),
          ...(x.races && x.lockdep
            ? {}
            : { checkers: { ...(x.lockdep ? {} : { lockdep: false as const }), ...(x.races ? {} : { races: false as const }) } }),
          ...(partial ? { complete: false as const, steps: result.steps } : {}),
          decisions: result.decisions,
        }); },
      );
      if (written) schedulePath = p;
    } else {
      notes.push('no schedule was saved: the run did not get far enough to record one');
    }
  }
  const extras: SummaryExtras = {
    command: x.command,
    replay,
    tracePath,
    reportPath,
    ftracePath,
    schedulePath,
    schedulePartial: partial,
    eventHash:
      outcome.result?.eventHash ??
      (outcome.events && outcome.status === 'done'
        ? (await import('../trace/hash.ts')).eventStreamHash(outcome.events)
        : null),
  };
  if (!files.ok && code !== Exit.INTERRUPTED) code = Exit.ERROR;
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          ...summaryJson(outcome, extras, code),
          warnings: notes,
          ...(files.ok ? {} : { unwritten: files.failures }),
        },
        null,
        2,
      )}\n`,
    );
  } else if (opts.quiet) {
    const q = formatQuiet(outcome, extras);
    if (q) process.stdout.write(`${q}\n`);
  } else {
    process.stdout.write(`${formatSummary(outcome, extras)}\n`);
  }
  for (const n of notes) process.stderr.write(`${pcErr.yellow('warning:')} ${forTerminal(safe(n))}\n`);
  if (problem) {
    if (runCode === Exit.ERROR) printError(problem);
    else process.stderr.write(`${pcErr.yellow(runCode === Exit.INTERRUPTED ? 'interrupted:' : 'limit:')} ${forTerminal(safe(problem))}\n`);
  }
  files.report();
  return code;
}
