/**
 * `dmabuf-lab run <scenario> --seeds a..b`: every seed of a range, one after
 * another in this process (each run exactly as `run --seed N` runs it), then
 * a summary of which seeds showed which rules. The random strategy in its
 * simplest form; `dmabuf-lab explore` searches systematically.
 */
import { pc } from './colors.ts';
import { loadScenario, runSeeds } from '../explore/index.ts';
import type { SeedOutcome } from '../explore/index.ts';
import { registerScenarioHook } from '../scenario/module-loading.ts';
import { displayPath, formatCount, plural, printError, safeLine, shellWord } from './format.ts';
import { Exit } from './exit.ts';
import { onInterrupt } from './interrupts.ts';
import type { RunOptions } from './run-command.ts';

/** `run --seeds`. Returns the exit code. */
export async function seedsCommand(ref: string, o: RunOptions & { seeds: { from: number; to: number } }): Promise<number> {
  const single = (['trace', 'report', 'saveSchedule', 'ftrace'] as const).filter((k) => o[k] !== undefined);
  if (single.length > 0) {
    printError(
      `--seeds runs many seeds and writes no per-run files; drop --${single.map((k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)).join(', --')}, ` +
        'or pick one seed from the summary and run it with --seed N.',
    );
    return Exit.ERROR;
  }
  registerScenarioHook();
  let loaded;
  try {
    loaded = await loadScenario(ref);
  } catch (e) {
    printError((e as Error).message);
    return Exit.ERROR;
  }
  const shown = loaded.builtin ? loaded.ref : displayPath(loaded.ref);
  const { from, to } = o.seeds;
  let summary;
  const started = performance.now();
  // Ctrl-C: finish the seed in flight, then summarise the seeds run so far (exit 130).
  const stop = new AbortController();
  const unhook = onInterrupt(() => { stop.abort(); });
  try {
    summary = await runSeeds(loaded.scenario, from, to, {
      limits: {
        ...(o.maxSteps !== undefined ? { maxSteps: o.maxSteps } : {}),
        ...(o.maxTimeMs !== undefined ? { maxVirtualTimeNs: o.maxTimeMs * 1e6 } : {}),
      },
      signal: stop.signal,
    });
  } catch (e) {
    printError((e as Error).message);
    return Exit.ERROR;
  } finally {
    unhook();
  }
  const interrupted = stop.signal.aborted;
  const ran = summary.seeds.length;
  const last = ran ? summary.seeds[ran - 1]!.seed : from - 1;
  const ms = performance.now() - started;
  const findings = summary.seeds.filter((s) => s.rules.length > 0 || s.end === 'step-limit' || s.end === 'time-limit');
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          command: 'run',
          scenario: shown,
          seeds: { from, to },
          ...(interrupted ? { stoppedBy: 'interrupted', lastSeed: last } : {}),
          bySeed: summary.seeds.map((s) => ({ seed: s.seed, end: s.end, rules: s.rules })),
          byRule: Object.fromEntries(summary.byRule),
          exitCode: interrupted ? Exit.INTERRUPTED : findings.length ? Exit.FINDINGS : Exit.OK,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    const lines: string[] = [];
    const range = interrupted ? `${from}..${last} of ${from}..${to}, interrupted` : `${from}..${to}`;
    lines.push(`${safeLine(loaded.scenario.name)}: seeds ${range} (${plural(ran, 'run')}, ${(ms / 1000).toFixed(2)} s)`);
    for (const [rule, seeds] of [...summary.byRule].sort((a, b) => b[1].length - a[1].length)) {
      lines.push(`  ${pc.red(rule.padEnd(32))} ${formatCount(seeds.length).padStart(5)} seeds: ${seedList(seeds)}`);
    }
    const clean = summary.seeds.filter((s) => s.rules.length === 0 && s.end === 'completed').map((s) => s.seed);
    lines.push(`  ${pc.green('clean'.padEnd(32))} ${formatCount(clean.length).padStart(5)} seeds${clean.length ? `: ${seedList(clean)}` : ''}`);
    const limited = summary.seeds.filter((s) => s.end === 'step-limit' || s.end === 'time-limit');
    if (limited.length) lines.push(`  ${pc.yellow('stopped at a limit'.padEnd(32))} ${formatCount(limited.length).padStart(5)} seeds: ${seedList(limited.map((s) => s.seed))}`);
    const first = findings[0];
    if (first) lines.push(`\nreplay the first: dmabuf-lab run ${shellWord(shown)} --seed ${first.seed}${describe(first)}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (interrupted) return Exit.INTERRUPTED;
  return findings.length ? Exit.FINDINGS : Exit.OK;
}

function describe(s: SeedOutcome): string {
  return s.rules.length ? `   (${s.rules.join(', ')})` : '';
}

/** `1-3,7,9-12`, shortened after 20 items. */
function seedList(seeds: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < seeds.length; ) {
    let j = i;
    while (j + 1 < seeds.length && seeds[j + 1] === seeds[j]! + 1) j++;
    parts.push(j > i ? `${seeds[i]}-${seeds[j]}` : `${seeds[i]}`);
    i = j + 1;
  }
  return parts.length > 20 ? `${parts.slice(0, 20).join(',')},... (${parts.length - 20} more)` : parts.join(',');
}
