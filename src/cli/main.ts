/**
 * The `dmabuf-lab` command: run, replay, check, list, explain, trace-check, new.
 *
 * Start-up matters (a shell loop over seeds pays it every time): this module
 * loads only commander and picocolors; each command's module is imported
 * when that command runs, and `run` loads the model only in its worker.
 *
 * Exit codes: 0 clean (or every verdict as expected), 1 splats found, a limit
 * reached (steps, virtual time, or the wall-clock --timeout of a run still
 * making progress), or a verdict that differs, 2 usage or scenario error
 * (with a paragraph saying what to fix) or a file that cannot be written,
 * 130 stopped by Ctrl-C / SIGTERM (after the summary so far).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from '@commander-js/extra-typings';
import { LIMIT_BOUNDS, MAX_TIME_MS_BOUND } from '../kernel/run-types.ts';
import { pc, pcErr } from './colors.ts';
import { printError, safe, safeLine } from './format.ts';
import { Exit } from './exit.ts';
import { handleInterrupts } from './interrupts.ts';

const DEFAULT_TIMEOUT_S = 60;
const DEFAULT_CHECK_SEEDS = 8;

function integer(min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  const expected = max === Number.MAX_SAFE_INTEGER ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`;
  return (v: string) => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected ${expected}, got "${safeLine(v)}".`);
    return n;
  };
}

/** Seeds are unsigned 32-bit numbers (the scheduler's PRNG state). */
const SEED_MAX = 2 ** 32 - 1;
const seedOf = integer(0, SEED_MAX);
const maxStepsOf = integer(1, LIMIT_BOUNDS.maxSteps);
const maxTimeMsOf = integer(1, MAX_TIME_MS_BOUND);
const MAX_STEPS_HELP = `scheduling-step limit, 1 to ${LIMIT_BOUNDS.maxSteps}`;
const MAX_TIME_HELP = `virtual-time limit in ms, 1 to ${MAX_TIME_MS_BOUND}`;

/** A wall-clock budget in seconds: `30s`, `2m`, `500ms`, `1h`, or a number of seconds. */
function wallSeconds(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  const n = m ? Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? 's'] ?? 1) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`expected a duration > 0 such as 30s, 2m or 500ms, got "${safeLine(v)}".`);
  return n;
}

function oneOf<T extends string>(values: readonly T[]): (v: string) => T {
  return (v: string) => {
    if (!values.includes(v as T))
      throw new InvalidArgumentError(`expected one of ${values.join(', ')}, got "${safeLine(v)}".`);
    return v as T;
  };
}

const FAULT_NAMES = ['alloc', 'ww', 'hang', 'timer', 'irq', 'signal'] as const;

function faultList(v: string): (typeof FAULT_NAMES)[number][] {
  const parts = v.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  if (parts.length === 0) throw new InvalidArgumentError(`expected a list of fault kinds (${FAULT_NAMES.join(',')}), got "${safeLine(v)}".`);
  for (const p of parts) {
    if (!FAULT_NAMES.includes(p as (typeof FAULT_NAMES)[number]))
      throw new InvalidArgumentError(`unknown fault kind "${safeLine(p)}": the kinds are ${FAULT_NAMES.join(', ')}.`);
  }
  return parts as (typeof FAULT_NAMES)[number][];
}

function shardSpec(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  const index = m ? Number(m[1]) : -1;
  const count = m ? Number(m[2]) : 0;
  if (!m || count < 1 || index >= count)
    throw new InvalidArgumentError(`expected i/n with 0 <= i < n (e.g. 0/4 for the first of four shards), got "${safeLine(v)}".`);
  return { index, count };
}

function preemptionBound(v: string): number | null {
  if (v === 'none') return null;
  return integer(0)(v);
}

/** `1..200`, or `N` for 1..N. */
function seedRange(v: string): { from: number; to: number } {
  const m = /^(\d+)(?:\.\.(\d+))?$/.exec(v.trim());
  const from = m ? (m[2] === undefined ? 1 : Number(m[1])) : -1;
  const to = m ? Number(m[2] ?? m[1]) : -1;
  if (!m || !Number.isSafeInteger(to) || to < from || to < 1)
    throw new InvalidArgumentError(`expected a seed range a..b with a <= b (e.g. 1..200), or a count N for 1..N, got "${safeLine(v)}".`);
  return { from, to };
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`expected a number of seconds > 0, got "${safeLine(v)}".`);
  return n;
}

function duration(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s)?\s*$/.exec(v);
  if (!m)
    throw new InvalidArgumentError(`expected a duration such as 100ms, 2s or 500us, got "${safeLine(v)}".`);
  const unit = m[2] ?? 'ms';
  const scale =
    unit === 'ns' ? 1 : unit === 'us' || unit === 'µs' ? 1e3 : unit === 'ms' ? 1e6 : 1e9;
  return Math.round(Number(m[1]) * scale);
}

function version(): string {
  try {
    const pkg = JSON.parse(
      // src/cli/main.ts or dist/src/cli/main.js
      readFileSync(
        new URL(
          import.meta.url.endsWith('.ts') ? '../../package.json' : '../../../package.json',
          import.meta.url,
        ),
        'utf8',
      ),
    ) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Build the command tree; `setCode` receives each action's exit code. */
export function buildProgram(setCode: (code: number) => void): Command {
  const program = new Command()
    .name('dmabuf-lab')
    .description(
      'An executable model of Linux dma-buf, dma-fence, dma-resv and the DRM GPU scheduler on a deterministic simulated kernel, with lockdep.',
    )
    .version(version())
    .exitOverride()
    .showHelpAfterError(pc.dim('(add --help for usage)'))
    .configureOutput({
      outputError: (s, write) => {
        // The message quotes what was typed: control characters escaped.
      write(`${pcErr.red(safe(s.replace(/\n$/, '')))}\n`);
      },
    })
    .addHelpText(
      'after',
      '\nExit codes: 0 clean / as expected, 1 splats found or a limit reached (--max-steps, --max-time-ms, or --timeout while the run progresses),\n' +
        '2 usage or scenario error or a file that cannot be written, 130 interrupted (Ctrl-C / SIGTERM; a second one quits at once).\n' +
        'Start with: dmabuf-lab list, then dmabuf-lab run <name> --trace run.trace.json',
    );

  program
    .command('run')
    .description(
      'run a built-in scenario by name, or a scenario file (.ts, .mts, .js, .mjs), and print its summary',
    )
    .argument(
      '<scenario>',
      'built-in scenario name (see `dmabuf-lab list`) or path of a scenario file',
    )
    .option('--seed <n>', `seed of the scheduler's choices, 0 to ${SEED_MAX}`, seedOf, 1)
    .option('--trace <file>', 'write a Chrome Trace Event JSON file (opens in Perfetto UI)')
    .option('--json', 'print the summary as JSON')
    .option(
      '--timeout <seconds>',
      'wall-clock limit: a run whose thread never yields is an error (exit 2), a run still progressing is stopped as a limit (exit 1)',
      seconds,
      DEFAULT_TIMEOUT_S,
    )
    .option('--max-steps <n>', `${MAX_STEPS_HELP} (default 5,000,000)`, maxStepsOf)
    .option('--max-time-ms <n>', `${MAX_TIME_HELP} (default 3,600,000)`, maxTimeMsOf)
    .option(
      '--stacks',
      'capture backtraces from the start (by default a run that reports something is replayed with them)',
    )
    .option('--no-races', 'switch the race detector and KASAN off (kcsan.*, kasan.* rules)')
    .option('--no-lockdep', 'switch lockdep off (lockdep.* rules)')
    .option('--quiet', 'print nothing for a clean run; one line per splat otherwise')
    .option('--color', 'colour the output even when it is not a terminal')
    .option('--no-color', 'no colour (NO_COLOR in the environment does the same)')
    .option('--save-schedule <file>', "save the run's decisions for `dmabuf-lab replay`")
    .option(
      '--report <file>',
      'write a self-contained HTML report (summary, splats, timeline, schedule)',
    )
    .option(
      '--ftrace <file>',
      'write the run as kernel trace text (dma_fence and 6.17 gpu_scheduler events; trace-check reads it)',
    )
    .option(
      '--seeds <range>',
      'run every seed of a range (1..200, or N for 1..N) in this process and summarize which seeds show which rules',
      seedRange,
    )
    .action(async (scenario, o) => {
      if (o.seeds) {
        const { seedsCommand } = await import('./seeds-command.ts');
        setCode(await seedsCommand(scenario, { ...o, seeds: o.seeds }));
        return;
      }
      // Commands load on demand: the run itself happens in a worker, so the
      // main thread of `run` never loads the model.
      const { runCommand } = await import('./run-command.ts');
      setCode(await runCommand(scenario, o));
    });

  program
    .command('replay')
    .description('re-run a schedule saved with `run --save-schedule`, decision by decision')
    .argument('<schedule>', 'schedule JSON file')
    .option('--trace <file>', 'write a Chrome Trace Event JSON file (opens in Perfetto UI)')
    .option('--json', 'print the summary as JSON')
    .option('--scenario <file>', 'replay on this scenario (a built-in name or a file you trust) instead of the one the schedule names')
    .option('--timeout <seconds>', 'wall-clock limit (a run still progressing stops as a limit, exit 1)', seconds, DEFAULT_TIMEOUT_S)
    .option('--max-steps <n>', `${MAX_STEPS_HELP} (default: as recorded)`, maxStepsOf)
    .option('--max-time-ms <n>', `${MAX_TIME_HELP} (default: as recorded)`, maxTimeMsOf)
    .option(
      '--stacks',
      'capture backtraces from the start (by default a run that reports something is replayed with them)',
    )
    .option('--no-races', 'switch the race detector and KASAN off')
    .option('--no-lockdep', 'switch lockdep off')
    .option('--quiet', 'print nothing for a clean run; one line per splat otherwise')
    .option('--color', 'colour the output even when it is not a terminal')
    .option('--no-color', 'no colour (NO_COLOR in the environment does the same)')
    .option('--save-schedule <file>', 'save the replay\'s decisions (a new schedule file)')
    .option('--report <file>', 'write a self-contained HTML report')
    .option('--ftrace <file>', 'write the run as kernel trace text')
    .action(async (file, o) => {
      const { replayCommand } = await import('./run-command.ts');
      setCode(await replayCommand(file, o));
    });

  program
    .command('explore')
    .description(
      'search the schedules (and injected faults) of a scenario for bugs: each bug reported once, shrunk, replayable',
    )
    .argument('<scenario>', 'built-in scenario name or path of a scenario file')
    .option('--strategy <name>', 'random, pct (probabilistic concurrency testing) or dfs (bounded exhaustive search)', oneOf(['random', 'pct', 'dfs'] as const), 'pct')
    .option('--schedules <n>', 'schedule budget (default 1000; with --time alone, no schedule limit)', integer(1))
    .option('--time <duration>', 'wall-clock budget, e.g. 30s, 2m (the result then depends on the machine\'s speed)', wallSeconds)
    .option('--until <when>', 'stop at the first bug, or collect every distinct bug within the budget', oneOf(['first', 'all'] as const), 'first')
    .option('--seed <n>', `seed of the random and pct strategies, 0 to ${SEED_MAX}`, seedOf, 1)
    .option('--depth <d>', 'pct: bug depth (d - 1 priority change points per schedule)', integer(1), 3)
    .option('--preemptions <p>', "dfs: preemption bound, or 'none'", preemptionBound, 2)
    .option('--reduction <kind>', 'dfs: partial-order reduction, sleep (sleep sets) or none', oneOf(['sleep', 'none'] as const), 'sleep')
    .option('--faults <kinds>', 'choice kinds to explore besides thread order: alloc,ww,hang,timer,irq,signal', faultList, [])
    .option('--max-faults <n>', 'injected faults per schedule', integer(0), 1)
    .option('--workers <n>', 'worker threads (results are the same for any number)', integer(1), 1)
    .option('--shard <i/n>', 'run part i of n of the exploration and write a shard file (combine with `dmabuf-lab merge`)', shardSpec)
    .option('--out <file>', 'write the result (or the shard) as JSON to this file')
    .option('--json', 'print the result as JSON (the same object `explore()` returns)')
    .option('--trace-dir <dir>', 'save each bug\'s shrunk schedule, its Chrome trace and HTML report (replayed with stack capture) here')
    .option('--max-steps <n>', `${MAX_STEPS_HELP}, of each schedule (default 5,000,000)`, maxStepsOf)
    .option('--max-time-ms <n>', `${MAX_TIME_HELP}, of each schedule (default 3,600,000)`, maxTimeMsOf)
    .option('--schedule-timeout <seconds>', 'wall-clock limit of one schedule: a schedule whose thread never yields stops the exploration (a limit)', seconds, DEFAULT_TIMEOUT_S)
    .option('--no-races', 'explore without the race detector and KASAN')
    .option('--no-lockdep', 'explore without lockdep')
    .addHelpText(
      'after',
      '\nExit codes: 0 no bug found, 1 a bug found or a schedule stuck at --schedule-timeout, 2 usage or scenario error or a file that cannot be written, 130 interrupted (Ctrl-C / SIGTERM: the result so far is printed and written).\n' +
        'Example: dmabuf-lab explore mutex-abba --strategy dfs --preemptions 2 --until all --trace-dir out',
    )
    .action(async (scenario, o) => {
      const { exploreCommand } = await import('./explore-command.ts');
      setCode(await exploreCommand(scenario, o));
    });

  program
    .command('merge')
    .description('combine the shard files of one exploration (`explore --shard i/n`) into its result')
    .argument('<files...>', 'shard files, one per shard')
    .option('--json', 'print the merged result as JSON')
    .option('--out <file>', 'write the merged result as JSON to this file')
    .action(async (files, o) => {
      const { mergeCommand } = await import('./explore-command.ts');
      setCode(mergeCommand(files, o));
    });

  program
    .command('check')
    .description(
      'run every built-in scenario and compare each verdict with the expected one (the main job)',
    )
    .option('--json', 'print the results as JSON')
    .option(
      '--seeds <n>',
      'seeds to try for scenarios expected to fail on some seeds',
      integer(1),
      DEFAULT_CHECK_SEEDS,
    )
    .option('--trace-dir <dir>', `where to write the trace of the flagship scenario`, 'out')
    .option('--timeout <seconds>', 'wall-clock limit per run', seconds, DEFAULT_TIMEOUT_S)
    .option('--no-races', 'run without the race detector and KASAN')
    .option('--no-lockdep', 'run without lockdep')
    .option('--quiet', 'print only the scenarios whose verdict differs, and the total')
    .option('--color', 'colour the output even when it is not a terminal')
    .option('--no-color', 'no colour (NO_COLOR in the environment does the same)')
    .action(async (o) => {
      const { checkCommand } = await import('./check-command.ts');
      setCode(await checkCommand(o));
    });

  program
    .command('trace-check')
    .description(
      'check a real kernel trace of dma_fence / gpu_scheduler events (ftrace, trace_pipe, trace-cmd report, perf script, Perfetto text proto) with the rules runs are checked with',
    )
    .argument('<file>', 'the trace file, or - for standard input')
    .option('--json', 'print every finding (with its line numbers and fence identity) as JSON')
    .option(
      '--slow-wait <duration>',
      'report fence waits longer than this (e.g. 100ms, 2s)',
      duration,
    )
    .option('--trace <file>', 'write the trace as Chrome Trace Event JSON (opens in Perfetto UI)')
    .option('--report <file>', 'write a self-contained HTML report')
    .action(async (file, o) => {
      const { traceCheckCommand } = await import('./trace-check-command.ts');
      setCode(await traceCheckCommand(file, o));
    });

  program
    .command('list')
    .description('list the built-in scenarios with their expected verdicts')
    .option('--json', 'print as JSON')
    .action(async (o) => {
      const { listCommand } = await import('./info-commands.ts');
      setCode(await listCommand(o));
    });

  program
    .command('explain')
    .description('explain a rule id shown in a splat, e.g. `dmabuf-lab explain sched.deadlock`; with no id, list the rules by checker')
    .argument('[rule-id]', 'rule id (printed in brackets in front of each splat)')
    .option('--json', 'print as JSON')
    .action(async (id, o) => {
      const { explainCommand } = await import('./info-commands.ts');
      setCode(explainCommand(id, o));
    });

  program
    .command('new')
    .description(
      'write a scenario file to start from: one thread, an expectation, the rules for thread bodies',
    )
    .argument('<name>', 'scenario name (writes ./<name>.ts) or a path ending in .ts')
    .option('--force', 'overwrite the file if it exists')
    .action(async (name, o) => {
      const { newCommand } = await import('./new-command.ts');
      setCode(newCommand(name, o));
    });

  return program;
}

/** Parse `argv` and run; resolves to the exit code. Never throws. */
export async function main(argv: readonly string[]): Promise<number> {
  let code: number = Exit.OK;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; everything else commander reports (including
      // help shown because no command was given) is a usage error.
      return e.exitCode === 0 ? Exit.OK : Exit.ERROR;
    }
    printError(
      `internal error: ${e instanceof Error ? e.message : String(e)}. This is a bug in dmabuf-lab; please report it with the command line you ran.`,
    );
    return Exit.ERROR;
  }
}

// A reader that stops early (`dmabuf-lab list | head`) closes the pipe: stop
// quietly, as other command-line tools do, instead of crashing on EPIPE
// (on either stream, in every command).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw e;
  });
}
// Ctrl-C / SIGTERM: the commands that run scenarios stop and keep what they
// have (interrupts.ts); the others, which do not register, end with 130.
handleInterrupts();

process.exitCode = await main(process.argv);
