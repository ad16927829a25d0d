/** `dmabuf-lab list` and `dmabuf-lab explain <rule-id>`. */
import { pc } from './colors.ts';
import { describeExpectation, listBuiltinScenarios } from '../scenario/index.ts';
import { indent, printError, safeLine, wrap } from './format.ts';
import { allRules, explainRuleText } from './rules.ts';
import { LOCKDEP_NOTATION, notationText } from '../check/index.ts';

/** Words `explain` takes for the notation legend. */
const NOTATION_IDS = ['notation', 'legend', 'usage', 'en', '[en]', '{+.+.}'];
import { Exit } from './exit.ts';

/** `dmabuf-lab list`: every built-in scenario with its expected verdict and description. */
export async function listCommand(opts: { json?: boolean }): Promise<number> {
  const all = await listBuiltinScenarios();
  if (opts.json) {
    const rows = all.map((b) =>
      'scenario' in b
        ? {
            name: b.scenario.name,
            file: b.file,
            description: b.scenario.description,
            expect: b.scenario.expect,
          }
        : { name: b.file, file: b.file, error: b.error.message },
    );
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return Exit.OK;
  }
  const width = Math.max(
    12,
    ...all.map((b) => ('scenario' in b ? b.scenario.name : b.file).length),
  );
  for (const b of all) {
    if ('scenario' in b) {
      const s = b.scenario;
      process.stdout.write(
        `${pc.bold(s.name.padEnd(width))}  ${pc.dim(`expect ${describeExpectation(s.expect)}`)}\n`,
      );
      if (s.description) process.stdout.write(`${indent(wrap(s.description, 90), width + 2)}\n`);
    } else {
      process.stdout.write(
        `${pc.bold(b.file.padEnd(width))}  ${pc.red(`does not load: ${b.error.message.split('\n')[0] ?? ''}`)}\n`,
      );
    }
  }
  process.stdout.write(`\nRun one with: dmabuf-lab run <name> [--seed N] [--trace FILE]\n`);
  return Exit.OK;
}

/** Edit distance of two short strings (Levenshtein), for suggestions. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** Up to three rule ids close to `id`: sharing its words, or a few edits away. */
export function closestRules(id: string, ids: readonly string[]): string[] {
  const want = id.toLowerCase();
  const tail = want.split('.').pop() ?? want;
  const scored = ids.map((r) => {
    const rt = r.split('.').pop() ?? r;
    const contains = r.includes(want) || (tail.length >= 3 && rt.includes(tail)) ? 0 : 1;
    return { r, score: contains * 100 + Math.min(distance(want, r), distance(tail, rt) + 2) };
  });
  scored.sort((a, b) => a.score - b.score || a.r.localeCompare(b.r));
  const limit = Math.max(3, Math.floor(want.length / 3));
  return scored.filter((x) => x.score < 100 || x.score - 100 <= limit).slice(0, 3).map((x) => x.r);
}

/** The rules grouped by checker (the id's prefix): `lockdep: circular, inconsistent, ...`. */
function rulesByChecker(): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const r of allRules()) {
    const dot = r.id.indexOf('.');
    const group = dot < 0 ? r.id : r.id.slice(0, dot);
    groups.set(group, [...(groups.get(group) ?? []), r.id]);
  }
  return groups;
}

/** `dmabuf-lab explain [rule-id]`: what the rule means and where it comes from in the kernel; with no id, the rules by checker. */
export function explainCommand(id: string | undefined, opts: { json?: boolean }): number {
  if (id === undefined) {
    const groups = rulesByChecker();
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(Object.fromEntries(groups), null, 2)}\n`);
      return Exit.OK;
    }
    for (const [group, ids] of groups) {
      process.stdout.write(`${pc.bold(group)}\n${indent(wrap(ids.join('  '), 86), 2)}\n`);
    }
    process.stdout.write('\nExplain one with: dmabuf-lab explain <rule-id>   (dmabuf-lab explain notation: lockdep\'s marks)\n');
    return Exit.OK;
  }
  if (NOTATION_IDS.includes(id.toLowerCase())) {
    if (opts.json)
      process.stdout.write(
        `${JSON.stringify({ id: 'notation', notation: LOCKDEP_NOTATION }, null, 2)}\n`,
      );
    else process.stdout.write(`${pc.bold('lockdep notation')}\n\n${notationText()}\n`);
    return Exit.OK;
  }
  const r = explainRuleText(id);
  if (!r) {
    const close = closestRules(id, allRules().map((x) => x.id));
    printError(
      `There is no rule "${safeLine(id)}".${close.length ? ` Did you mean ${close.map((c) => `"${c}"`).join(' or ')}?` : ''} ` +
        'Rule ids are printed in brackets in front of each splat, e.g. [sched.deadlock]; `dmabuf-lab explain` with no id lists them by checker, `dmabuf-lab explain notation` explains lockdep\'s {+.+.} and [EN] marks.',
    );
    return Exit.ERROR;
  }
  const lockdep = r.id.startsWith('lockdep.');
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify(lockdep ? { ...r, notation: LOCKDEP_NOTATION } : r, null, 2)}\n`,
    );
    return Exit.OK;
  }
  process.stdout.write(`${pc.bold(r.id)}${r.title ? `: ${r.title}` : ''}\n\n${wrap(r.text, 90)}\n`);
  if (r.source) process.stdout.write(`\n${pc.cyan('kernel:')} ${r.source}\n`);
  if (lockdep)
    process.stdout.write(`\n${pc.cyan('notation in the report:')}\n\n${notationText()}\n`);
  return Exit.OK;
}
