/** `dmabuf-lab list` and `dmabuf-lab explain <rule-id>`. */
import pc from 'picocolors';
import { describeExpectation, listBuiltinScenarios } from '../scenario/index.ts';
import { indent, printError, wrap } from './format.ts';
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

/** `dmabuf-lab explain <rule-id>`: what the rule means and where it comes from in the kernel. */
export function explainCommand(id: string, opts: { json?: boolean }): number {
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
    const ids = allRules().map((x) => x.id);
    printError(
      `There is no rule "${id}". Known rules: ${ids.join(', ')}. Rule ids are printed in brackets in front of each splat, e.g. [sched.deadlock]; \`dmabuf-lab explain notation\` explains lockdep's {+.+.} and [EN] marks.`,
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
