/**
 * Bad inputs, one row each: what a new user gets wrong and what an
 * adversary would try (a crafted schedule, control characters, unwritable
 * outputs, a scenario that cheats on determinism). Every row spawns the
 * CLI and checks the exit code, the first line of the message, and that no
 * stack trace reaches the user; some rows check more (a crafted schedule's
 * module never ran, the terminal saw no escape character).
 */
import { exec, execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';

const root = process.cwd();
const bin = join(root, 'bin/dmabuf-lab.js');
const dir = mkdtempSync(join(tmpdir(), 'dmabuf-lab-bad-'));
const lib = (p: string): string => JSON.stringify(join(root, p));
const env = { ...process.env, NO_COLOR: '1', CI: '1', DMABUF_LAB_SOURCES: '1' };

function scenario(name: string, body: string, extra = ''): string {
  const p = join(dir, name);
  writeFileSync(
    p,
    `import { defineScenario } from ${lib('src/explore/index.ts')};\n` +
      `import { condResched, kmalloc, GFP_KERNEL, msleep, Mutex } from ${lib('src/kernel/index.ts')};\n${extra}` +
      `export default defineScenario(${body});\n`,
  );
  return name;
}

function thread(name: string, code: string): string {
  return scenario(
    `${name}.ts`,
    `{ name: '${name}', description: '', expect: { verdict: 'clean' }, setup(k) {
      k.kthreadRun('worker', async () => { ${code} });
    } }`,
  );
}

/** A module that leaves a mark when it is imported: a schedule must never get it loaded. */
const EVIL_MARK = join(dir, 'evil-ran');
const evil = join(mkdtempSync(join(tmpdir(), 'dmabuf-lab-evil-')), 'evil.mjs');
writeFileSync(evil, `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(EVIL_MARK)}, 'ran');\nexport default {};\n`);

const ESC = '\u001b';
const schedule = (name: string, value: unknown): string => {
  writeFileSync(join(dir, name), typeof value === 'string' ? value : JSON.stringify(value));
  return name;
};
const v2 = (fields: Record<string, unknown>): Record<string, unknown> => ({
  format: 'dmabuf-lab-schedule',
  version: 2,
  scenario: { builtin: 'mutex-abba' },
  seed: 1,
  decisions: [],
  ...fields,
});

writeFileSync(join(dir, 'syntax.ts'), `export default { name: 'x' description: 'y' };\n`);
writeFileSync(join(dir, 'nothing.ts'), 'export const answer: number = 42;\n');
writeFileSync(join(dir, 'a-file'), 'not a directory\n');
mkdirSync(join(dir, 'a-dir'), { recursive: true });

interface Row {
  /** What the row is about. */
  readonly name: string;
  readonly args: readonly string[];
  readonly code: number;
  /** The first line of the message (stderr), or of stdout when `stdout` is set. */
  readonly first: RegExp;
  readonly stdout?: boolean;
  /** More checks on the outcome. */
  readonly also?: (r: Ran) => void;
}

const rows: Row[] = [
  // Scenarios that cannot be run.
  { name: 'unknown built-in scenario', args: ['run', 'mutex-abbaa'], code: 2, first: /^error: There is no built-in scenario named "mutex-abbaa"\. Did you mean/ },
  { name: 'syntax error in a scenario file', args: ['run', './syntax.ts'], code: 2, first: /^error: .*syntax\.ts/ },
  { name: 'no default export', args: ['run', './nothing.ts'], code: 2, first: /^error: .*exports no scenario/ },
  {
    name: 'setup throws',
    args: ['run', scenario('setup-throws.ts', `{ name: 'setup-throws', description: '', expect: { verdict: 'clean' }, setup() { throw new Error('no device'); } }`)],
    code: 2,
    first: /^error: The setup of scenario "setup-throws" threw: no device/,
  },
  {
    name: 'busy loop that never yields',
    args: ['run', thread('spin', 'let x = 0; for (;;) x++;'), '--timeout', '2'],
    code: 2,
    first: /^error: .*never yield|^error: .*watchdog/,
  },
  {
    name: 'a thread awaits a host promise',
    args: ['run', thread('foreign', 'await new Promise((r) => setTimeout(r, 500));')],
    code: 2,
    first: /^error: .*(not a kernel operation|outside the kernel|foreign)/i,
  },
  {
    name: '10,000 threads',
    args: [
      'run',
      scenario('many.ts', `{ name: 'many', description: '', expect: { verdict: 'clean' }, setup(k) { for (let i = 0; i < 10000; i++) k.kthreadRun('t' + i, async () => {}); } }`),
      '--quiet',
      // The machine running the suite may be loaded: this row is about size, not time.
      '--timeout',
      '600',
    ],
    code: 0,
    first: /^$/,
    stdout: true,
  },
  // The determinism guards and thread errors.
  { name: 'Math.random in a thread', args: ['run', thread('random', 'Math.random();')], code: 2, first: /^error: .*Math\.random.*"worker"|^error: .*"worker".*Math\.random/ },
  { name: 'Date.now in a thread', args: ['run', thread('clock', 'Date.now();')], code: 2, first: /^error: .*Date\.now/ },
  { name: 'new Date() in a thread', args: ['run', thread('newdate', 'new Date();')], code: 2, first: /^error: .*Date/ },
  { name: 'performance.now in a thread', args: ['run', thread('perf', 'performance.now();')], code: 2, first: /^error: .*performance\.now/ },
  { name: 'process.exit in a thread', args: ['run', thread('exit', 'process.exit(3);')], code: 2, first: /^error: .*process\.exit/ },
  {
    name: 'an uncaught throw names the scenario line',
    args: ['run', thread('throw', "\n\n throw new Error('oops');")],
    code: 2,
    first: /^error: .*oops.*\(at .*throw\.ts:\d+:\d+\)/,
  },
  {
    name: 'a rejected promise nobody awaited is a warning with its site',
    args: ['run', thread('reject', "Promise.reject(new Error('lost')); await msleep(k, 1);")],
    code: 0,
    first: /^warning: a promise was rejected and nobody handled it: lost/,
  },
  // Kernel API arguments.
  { name: "msleep(k, 'ten')", args: ['run', thread('msleep-ten', "await msleep(k, 'ten' as unknown as number);")], code: 2, first: /^error: .*msleep/ },
  { name: 'msleep(k, NaN)', args: ['run', thread('msleep-nan', 'await msleep(k, NaN);')], code: 2, first: /^error: .*msleep/ },
  { name: 'kmalloc of a negative size', args: ['run', thread('kmalloc-neg', 'await kmalloc(k, -1, GFP_KERNEL);')], code: 2, first: /^error: .*kmalloc/ },
  {
    name: 'kmalloc above KMALLOC_MAX_SIZE',
    args: ['run', thread('kmalloc-huge', 'await kmalloc(k, 2 ** 40, GFP_KERNEL);'), '--quiet'],
    code: 1,
    first: /^\[mm\.kmalloc_too_large\]/,
    stdout: true,
  },
  {
    name: 'scenario limits maxSteps: -1',
    args: ['run', scenario('limits.ts', `{ name: 'limits', description: '', expect: { verdict: 'clean' }, kernel: { limits: { maxSteps: -1 } }, setup() {} }`)],
    code: 2,
    first: /^error: .*maxSteps must be a whole number from 1/,
  },
  // Command-line values.
  { name: '--seed -1', args: ['run', 'mutex-abba', '--seed', '-1'], code: 2, first: /^error: option '--seed <n>' argument '-1' is invalid\. expected a whole number from 0 to 4294967295/ },
  { name: '--seed 1.5', args: ['run', 'mutex-abba', '--seed', '1.5'], code: 2, first: /expected a whole number from 0 to 4294967295/ },
  { name: '--max-steps above its bound', args: ['run', 'mutex-abba', '--max-steps', '99999999999'], code: 2, first: /expected a whole number from 1 to 4294967295/ },
  { name: '--max-time-ms 0', args: ['run', 'mutex-abba', '--max-time-ms', '0'], code: 2, first: /expected a whole number from 1 to \d+/ },
  { name: '--timeout ten', args: ['run', 'mutex-abba', '--timeout', 'ten'], code: 2, first: /expected a number of seconds > 0/ },
  { name: 'control characters in an option value', args: ['run', 'mutex-abba', '--seed', `${ESC}]0;pwned\u0007`], code: 2, first: /\\x1b\]0;pwned\\x07/ },
  // Schedules.
  { name: 'a schedule that does not exist', args: ['replay', 'missing.json'], code: 2, first: /^error: The schedule file \.\/missing\.json does not exist/ },
  { name: 'a directory as the schedule', args: ['replay', 'a-dir'], code: 2, first: /^error: \.\/a-dir is a directory, not a schedule file/ },
  { name: 'a corrupt schedule', args: ['replay', schedule('corrupt.json', '{"format": "dmabuf-lab-sch')], code: 2, first: /^error: The schedule file \.\/corrupt\.json is not valid JSON/ },
  {
    name: 'a foreign file as the schedule (an explorer result)',
    args: ['replay', schedule('result.json', { format: 'dmabuf-lab-explore-result', version: 1 })],
    code: 2,
    first: /^error: The file \.\/result\.json is not a dmabuf-lab schedule: its format is "dmabuf-lab-explore-result".*--trace-dir/,
  },
  { name: 'a schedule of an unknown version', args: ['replay', schedule('v9.json', v2({ version: 9 }))], code: 2, first: /^error: The schedule file \.\/v9\.json has version 9; this dmabuf-lab reads versions 1 and 2/ },
  { name: 'a negative seed', args: ['replay', schedule('neg-seed.json', v2({ seed: -1 }))], code: 2, first: /^error: .*not valid: seed: expected a whole number from 0 to 4294967295, got -1/ },
  { name: 'a fractional seed', args: ['replay', schedule('frac-seed.json', v2({ seed: 1.5 }))], code: 2, first: /seed: expected a whole number from 0 to 4294967295, got 1\.5/ },
  { name: 'a negative limit', args: ['replay', schedule('neg-limit.json', v2({ limits: { maxSteps: -1 } }))], code: 2, first: /limits\.maxSteps: expected a whole number of steps from 1 to/ },
  { name: 'a non-numeric limit', args: ['replay', schedule('str-limit.json', v2({ limits: { maxVirtualTimeNs: 'ten' } }))], code: 2, first: /limits\.maxVirtualTimeNs: expected a whole number of ns/ },
  { name: 'a bad decision', args: ['replay', schedule('bad-decision.json', v2({ decisions: [{ kind: 'thread' }] }))], code: 2, first: /decisions\[0\]\.label/ },
  {
    name: 'a schedule naming a module outside its directory and the working directory',
    args: ['replay', schedule('evil.json', v2({ scenario: { file: `../../../..${evil}`, sha256: '0'.repeat(64) } }))],
    code: 2,
    first: /^error: The schedule \.\/evil\.json names the scenario file .*lies outside the current directory and the schedule's directory.*--scenario/,
    also: () => {
      expect(existsSync(EVIL_MARK), 'the module named by the schedule was imported').toBe(false);
    },
  },
  {
    name: 'a version 1 schedule naming a module by absolute path',
    args: ['replay', schedule('evil-v1.json', { scenario: evil, seed: 1, decisions: [] })],
    code: 2,
    first: /^error: The schedule \.\/evil-v1\.json was written by an older dmabuf-lab \(version 1\).*--scenario/,
    also: () => {
      expect(existsSync(EVIL_MARK), 'the module named by the schedule was imported').toBe(false);
    },
  },
  {
    name: 'a schedule whose scenario file changed',
    args: ['replay', schedule('changed.json', v2({ scenario: { file: 'throw.ts', sha256: 'a'.repeat(64) } }))],
    code: 2,
    first: /^error: .*has changed since the schedule was recorded \(its content hash differs\).*--scenario \.\/throw\.ts/,
  },
  {
    name: 'control characters in a schedule field',
    args: ['replay', schedule('escape.json', v2({ scenario: { builtin: `x${ESC}]0;pwned\u0007${ESC}[2J` } }))],
    code: 2,
    first: /^error: .*(\\x1b|\\u001b)/,
  },
  {
    name: 'control characters in names and notes from a scenario',
    args: [
      'run',
      scenario(
        'escape.ts',
        `{ name: 'esc\\u001b]0;title\\u0007', description: 'clears \\u001b[2J the screen', expect: { verdict: 'clean' }, setup(k, ctx) {
          k.kthreadRun('th\\u001b[31mread', async () => { await msleep(k, 1); ctx.note('note \\u001b[2J'); });
        } }`,
      ),
    ],
    code: 0,
    first: /^dmabuf-lab run esc\\x1b\]0;title\\x07/,
    stdout: true,
  },
  // Files that cannot be written: the summary first, then one line, exit 2.
  {
    name: '--trace under a path whose parent is a file',
    args: ['run', 'mutex-abba', '--trace', 'a-file/run.trace.json'],
    code: 2,
    first: /^error: cannot write the trace to \.\/a-file\/run\.trace\.json: a part of the path is a file, not a directory \(E(NOTDIR|EXIST)\)\.$/,
    also: (r) => {
      expect(r.stdout).toContain('dmabuf-lab run mutex-abba');
      expect(r.stdout).toContain('replay:');
    },
  },
  { name: '--report onto a directory', args: ['run', 'mutex-abba', '--report', 'a-dir'], code: 2, first: /^error: cannot write the report to \.\/a-dir: it is a directory \(EISDIR\)\.$/ },
  { name: '--save-schedule under a file', args: ['run', 'mutex-abba', '--save-schedule', 'a-file/s.json'], code: 2, first: /^error: cannot write the schedule to \.\/a-file\/s\.json/ },
  {
    name: 'explore --trace-dir under a file',
    args: ['explore', 'mutex-abba', '--strategy', 'dfs', '--trace-dir', 'a-file/bugs'],
    code: 2,
    first: /^error: cannot write the schedule to .*a-file\/bugs\/mutex-abba\.bug-1/,
    also: (r) => {
      expect(r.stdout).toContain('[bug 1]');
    },
  },
  { name: 'explore --out onto a directory', args: ['explore', 'mutex-abba', '--strategy', 'dfs', '--out', 'a-dir'], code: 2, first: /^error: cannot write the result to \.\/a-dir: it is a directory/ },
  // Limits.
  {
    name: '--timeout reached by a run still making progress is a limit',
    args: ['run', thread('poll', 'for (;;) await condResched(k);'), '--timeout', '1'],
    code: 1,
    first: /^limit: The run was still making progress when the wall-clock limit stopped it after 1 s/,
  },
  // Explorer inputs.
  { name: 'merge of a file that is not a shard', args: ['merge', schedule('junk.json', { hello: 1 })], code: 2, first: /^error: merge: junk\.json is not a shard file/ },
  { name: 'explore --seed -1', args: ['explore', 'mutex-abba', '--seed', '-1'], code: 2, first: /expected a whole number from 0 to 4294967295/ },
  // Small things.
  { name: 'explain of an unknown rule suggests the closest', args: ['explain', 'sched.deadlok'], code: 2, first: /^error: There is no rule "sched\.deadlok"\. Did you mean "sched\.deadlock"/ },
  { name: 'explain with no rule lists them by checker', args: ['explain'], code: 0, first: /^lockdep$|^[a-z_]+$/, stdout: true, also: (r) => { expect(r.stdout).toMatch(/^lockdep\n/m); } },
];

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: dir, env, timeout: 90_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const results = new Map<string, Ran>();
let piped: { code: number; stdout: string; stderr: string } | null = null;

beforeAll(async () => {
  const queue = [...rows];
  const lane = async (): Promise<void> => {
    for (let row = queue.shift(); row !== undefined; row = queue.shift()) results.set(row.name, await cli(row.args));
  };
  await Promise.all([lane(), lane(), lane()]);
  piped = await new Promise((resolve) => {
    exec(`"${process.execPath}" "${bin}" list | head -1`, { cwd: dir, env }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}, 600_000);

/** A Node.js stack frame (`    at f (file:1:2)`). */
const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;

describe('bad inputs get one clear answer', () => {
  test.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const r = results.get(row.name)!;
    const text = row.stdout ? r.stdout : r.stderr;
    const first = text.split('\n').find((l) => l.trim() !== '' && !l.startsWith('explore ') && !l.startsWith('progress:')) ?? '';
    expect(r.code, `exit code; stderr: ${r.stderr.slice(0, 500)}`).toBe(row.code);
    expect(first).toMatch(row.first);
    expect(r.stdout + r.stderr).not.toMatch(STACK_FRAME);
    expect(r.stdout + r.stderr).not.toContain('internal error');
    expect(r.stdout + r.stderr, 'a raw escape character reached the terminal').not.toContain(ESC);
    row.also?.(r);
  });

  test('output to a closed pipe ends quietly', () => {
    expect(piped!.stderr).toBe('');
    expect(piped!.stdout.split('\n').filter(Boolean)).toHaveLength(1);
  });
});
