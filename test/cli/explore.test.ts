/**
 * `dmabuf-lab explore`, `merge` and `run --seeds` end to end: each case
 * spawns `node bin/dmabuf-lab.js` (a few at a time, in beforeAll) and the
 * tests check exit codes, output and written files.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { resultSchemas } from '../../src/explore/index.ts';

const root = process.cwd();
const bin = join(root, 'bin/dmabuf-lab.js');
const dir = mkdtempSync(join(tmpdir(), 'dmabuf-lab-explore-'));
const race = join(root, 'test/explore/fixtures/unbind-open-race.ts');
const throws = join(dir, 'throws-in-setup.ts');
writeFileSync(
  throws,
  `import { defineScenario } from ${JSON.stringify(join(root, 'src/explore/index.ts'))};\n` +
    `export default defineScenario({ name: 'throws', description: 'setup throws', expect: { verdict: 'clean' }, setup() { throw new Error('no device'); } });\n`,
);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1', CI: '1' }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

const jobs: Record<string, string[]> = {
  help: ['explore', '--help'],
  badStrategy: ['explore', 'mutex-abba', '--strategy', 'bfs'],
  badFaults: ['explore', 'mutex-abba', '--faults', 'alloc,oom'],
  badShard: ['explore', 'mutex-abba', '--shard', '2/2'],
  emptyBudget: ['explore', 'mutex-abba', '--schedules', '0'],
  zeroTime: ['explore', 'mutex-abba', '--time', '0s'],
  throws: ['explore', throws],
  unknown: ['explore', 'no-such-scenario'],
  json: ['explore', race, '--strategy', 'dfs', '--until', 'all', '--json'],
  exhausted: ['explore', race, '--strategy', 'dfs', '--preemptions', '1'],
  traced: ['explore', race, '--strategy', 'dfs', '--trace-dir', 'bugs'],
  shard0: ['explore', race, '--strategy', 'dfs', '--until', 'all', '--shard', '0/2', '--out', 's0.json'],
  shard1: ['explore', race, '--strategy', 'dfs', '--until', 'all', '--shard', '1/2', '--out', 's1.json'],
  seeds: ['run', race, '--seeds', '1..40'],
  seedsClean: ['run', 'ww-backoff', '--seeds', '3'],
  seedsWithTrace: ['run', 'mutex-abba', '--seeds', '1..3', '--trace', 'x.json'],
};

const runs: Record<string, Ran> = {};

beforeAll(async () => {
  const queue = Object.keys(jobs);
  const lane = async (): Promise<void> => {
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) runs[n] = await cli(...jobs[n]!);
  };
  await Promise.all([lane(), lane(), lane()]);
  runs.merge = await cli('merge', 's1.json', 's0.json', '--json');
  runs.mergeMissing = await cli('merge', 's0.json');
  writeFileSync(join(dir, 'junk.json'), '{"hello": 1}');
  runs.mergeJunk = await cli('merge', 'junk.json');
  const schedule = join(dir, 'bugs', 'unbind-open-race.bug-1.refcount.addition_on_0.schedule.json');
  // The scenario file lies outside the schedule's directory and the working directory: named on purpose.
  runs.replay = await cli('replay', schedule, '--scenario', race);
  runs.replayRefused = await cli('replay', schedule);
}, 240_000);

describe('dmabuf-lab explore', () => {
  test('--help lists the options and the exit codes', () => {
    const r = runs.help!;
    expect(r.code).toBe(0);
    for (const w of ['--strategy', '--schedules', '--time', '--until', '--depth', '--preemptions', '--faults', '--max-faults', '--workers', '--shard', '--json', '--trace-dir', 'Exit codes: 0 no bug found, 1 a bug found', '130 interrupted', '--no-races', '--no-lockdep', '--schedule-timeout'])
      expect(r.stdout).toContain(w);
  });

  test('bad option values are usage errors (exit 2) saying what is expected', () => {
    expect(runs.badStrategy).toMatchObject({ code: 2 });
    expect(runs.badStrategy!.stderr).toContain('expected one of random, pct, dfs, got "bfs"');
    expect(runs.badFaults).toMatchObject({ code: 2 });
    expect(runs.badFaults!.stderr).toContain('unknown fault kind "oom"');
    expect(runs.badShard).toMatchObject({ code: 2 });
    expect(runs.badShard!.stderr).toContain('0 <= i < n');
    expect(runs.unknown).toMatchObject({ code: 2 });
    expect(runs.unknown!.stderr).toContain('no built-in scenario named "no-such-scenario"');
  });

  test('an empty budget is a usage error', () => {
    expect(runs.emptyBudget).toMatchObject({ code: 2 });
    expect(runs.emptyBudget!.stderr).toContain('expected a whole number >= 1, got "0"');
    expect(runs.zeroTime).toMatchObject({ code: 2 });
    expect(runs.zeroTime!.stderr).toContain('expected a duration > 0');
  });

  test('a scenario that throws in setup is a scenario error (exit 2)', () => {
    expect(runs.throws).toMatchObject({ code: 2 });
    expect(runs.throws!.stderr).toContain('The setup of scenario "throws" threw: no device');
  });

  test('--json prints the result object; a bug found exits 1', () => {
    const r = runs.json!;
    expect(r.code).toBe(1);
    const result = resultSchemas().ExploreResultSchema.parse(JSON.parse(r.stdout));
    expect(result).toMatchObject({ schedules: 14, exhausted: true, settings: { strategy: 'dfs', preemptions: 2 } });
    expect(result.bugs.map((b) => b.rule)).toContain('refcount.addition_on_0');
  });

  test('an exhausted bounded space without a bug says so and exits 0', () => {
    const r = runs.exhausted!;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('all 6 schedules with <= 1 preemption explored; no bug (bounded space exhausted)');
  });

  test('--trace-dir saves the shrunk schedule, its trace, report and kernel trace text; the schedule replays to the bug', () => {
    const r = runs.traced!;
    expect(r.code).toBe(1);
    const base = join(dir, 'bugs', 'unbind-open-race.bug-1.refcount.addition_on_0');
    for (const ext of ['schedule.json', 'trace.json', 'report.html', 'ftrace.txt']) expect(existsSync(`${base}.${ext}`), ext).toBe(true);
    expect(r.stdout).toContain('replay: dmabuf-lab replay');
    // The failing schedule as kernel trace text, in the format trace-check reads.
    expect(readFileSync(`${base}.ftrace.txt`, 'utf8')).toMatch(/^# tracer: nop/m);
    expect(r.stdout).toContain('kernel trace text: ');
    expect(r.stdout).not.toContain('did not show this bug');
    expect(r.stdout).toMatch(/shrunk from 2 deviations .*\n\s+to 2 deviations .*1-minimal/);
    // Replayed with stack capture: the report names source sites.
    expect(readFileSync(`${base}.report.html`, 'utf8')).toContain('unbind-open-race.ts:');
    expect(runs.replay!.code).toBe(1);
    expect(runs.replay!.stdout).toContain('[refcount.addition_on_0]');
    // Without --scenario, replay does not load a scenario file outside the schedule's and the working directory.
    expect(runs.replayRefused!.code).toBe(2);
    expect(runs.replayRefused!.stderr).toContain('lies outside the current directory');
    expect(runs.replayRefused!.stderr).toContain('--scenario');
  });
});

describe('shards and merge', () => {
  test('two shards merged give the unsharded result', () => {
    expect(runs.shard0!.code).toBe(1);
    expect(runs.shard0!.stdout).toContain('shard 0/2');
    expect(runs.merge!.code).toBe(1);
    expect(runs.merge!.stdout).toBe(runs.json!.stdout);
  });

  test('merge refuses a missing shard and a file that is not a shard', () => {
    expect(runs.mergeMissing).toMatchObject({ code: 2 });
    expect(runs.mergeMissing!.stderr).toContain('shard 1/2 missing');
    expect(runs.mergeJunk).toMatchObject({ code: 2 });
    expect(runs.mergeJunk!.stderr).toContain('junk.json is not a shard file');
  });
});

describe('dmabuf-lab run --seeds', () => {
  test('runs every seed in one process and says which seeds show which rules', () => {
    const r = runs.seeds!;
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('unbind-open-race: seeds 1..40 (40 runs');
    expect(r.stdout).toMatch(/refcount\.addition_on_0\s+4 seeds: 11,13,23,39\n/);
    expect(r.stdout).toMatch(/clean\s+36 seeds: 1-10,12,14-22,24-38,40/);
    expect(r.stdout).toContain('--seed 11');
  });

  test('all clean exits 0; per-run outputs are refused', () => {
    expect(runs.seedsClean!.code).toBe(0);
    expect(runs.seedsClean!.stdout).toMatch(/clean\s+3 seeds: 1-3/);
    expect(runs.seedsWithTrace).toMatchObject({ code: 2 });
    expect(runs.seedsWithTrace!.stderr).toContain('drop --trace');
  });
});
