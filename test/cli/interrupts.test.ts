/**
 * Ctrl-C (SIGINT) and SIGTERM: each test spawns the CLI, waits until the
 * run is under way (the scenario leaves a mark, or the command printed its
 * first line), sends the signal, and checks the summary so far, the files
 * asked for and exit code 130; a second Ctrl-C quits at once.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { resultSchemas } from '../../src/explore/index.ts';

const root = process.cwd();
const bin = join(root, 'bin/dmabuf-lab.js');
const dir = mkdtempSync(join(tmpdir(), 'dmabuf-lab-sigint-'));
const lib = (p: string): string => JSON.stringify(join(root, p));
const env = { ...process.env, NO_COLOR: '1', CI: '1', DMABUF_LAB_SOURCES: '1' };

/** A scenario whose thread leaves `mark` and then `loop`s. */
function scenario(name: string, mark: string, loop: string): string {
  writeFileSync(
    join(dir, `${name}.ts`),
    `import { writeFileSync } from 'node:fs';\n` +
      `import { defineScenario } from ${lib('src/explore/index.ts')};\n` +
      `import { condResched } from ${lib('src/kernel/index.ts')};\n` +
      `export default defineScenario({ name: '${name}', description: '', expect: { verdict: 'clean' }, setup(k) {\n` +
      `  k.kthreadRun('looper', async () => { writeFileSync(${JSON.stringify(join(dir, mark))}, 'x'); ${loop} });\n` +
      `} });\n`,
  );
  return `./${name}.ts`;
}

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI; once `ready()` holds, send each of `signals` (100 ms apart). */
function interrupted(args: string[], ready: (stdout: string) => boolean, signals: NodeJS.Signals[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: dir, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let sent = false;
    const poll = setInterval(() => {
      if (sent || !ready(stdout)) return;
      sent = true;
      signals.forEach((s, i) => setTimeout(() => child.kill(s), 100 * i));
    }, 50);
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no answer to ${signals.join(', ')}; stderr: ${stderr}`));
    }, 120_000);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const marked = (mark: string) => (): boolean => existsSync(join(dir, mark));

describe('Ctrl-C and SIGTERM keep what was found', () => {
  test('run: the summary so far, a partial schedule and trace, exit 130; the partial schedule replays to the same events', async () => {
    const file = scenario('poll-run', 'run.mark', 'for (;;) await condResched(k);');
    const r = await interrupted(['run', file, '--save-schedule', 'run.schedule.json', '--trace', 'run.trace.json'], marked('run.mark'), ['SIGINT']);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toMatch(/^result: +interrupted after [\d,]+ steps/m);
    expect(r.stdout).toContain('(partial: the run was stopped)');
    expect(r.stderr).toMatch(/^interrupted: Interrupted in run at step/m);
    const saved = JSON.parse(readFileSync(join(dir, 'run.schedule.json'), 'utf8')) as { complete?: boolean; steps?: number };
    expect(saved.complete).toBe(false);
    expect(saved.steps).toBeGreaterThan(0);
    expect(() => JSON.parse(readFileSync(join(dir, 'run.trace.json'), 'utf8')) as unknown).not.toThrow();
    const hash = /^events: +sha256 (\w+)/m.exec(r.stdout)?.[1];
    const again = await interrupted(['replay', 'run.schedule.json'], () => false, []);
    expect(again.code, again.stderr).toBe(1);
    expect(again.stdout).toMatch(/stopped at the end of the partial schedule/);
    expect(/^events: +sha256 (\w+)/m.exec(again.stdout)?.[1]).toBe(hash);
  }, 180_000);

  test('replay: SIGTERM stops it the same way', async () => {
    const file = scenario('poll-replay', 'replay.mark', 'for (;;) await condResched(k);');
    const first = await interrupted(['run', file, '--timeout', '1', '--save-schedule', 'poll.json'], () => false, []);
    expect(first.code, first.stderr).toBe(1);
    rmSync(join(dir, 'replay.mark'));
    const r = await interrupted(['replay', 'poll.json', '--max-steps', '4000000000'], marked('replay.mark'), ['SIGTERM']);
    // The partial schedule of a 1 s run may end before the signal comes: either way, no error.
    expect([1, 130], r.stderr).toContain(r.code);
    expect(r.stdout).toContain('dmabuf-lab replay poll-replay');
  }, 180_000);

  test('a second Ctrl-C quits at once', async () => {
    const file = scenario('spin', 'spin.mark', 'let x = 0; for (;;) x++;');
    const r = await interrupted(['run', file], marked('spin.mark'), ['SIGINT', 'SIGINT']);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Ctrl-C again to quit at once/);
  }, 180_000);

  test('explore: the result so far is printed and written, exit 130', async () => {
    const file = scenario('poll-explore', 'explore.mark', 'for (;;) await condResched(k);');
    const r = await interrupted(
      ['explore', file, '--max-steps', '20000', '--schedules', '1000000', '--until', 'all', '--out', 'explore.json'],
      marked('explore.mark'),
      ['SIGINT'],
    );
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toContain('interrupted: the result covers the schedules run so far');
    const result = resultSchemas().ExploreResultSchema.parse(JSON.parse(readFileSync(join(dir, 'explore.json'), 'utf8')));
    expect(result.stoppedBy).toBe('stopped');
    expect(result.schedules).toBeGreaterThan(0);
  }, 180_000);

  test('explore: a schedule stuck in host code is a limit naming its thread', async () => {
    const file = scenario('spin-explore', 'spin-explore.mark', 'let x = 0; for (;;) x++;');
    const r = await interrupted(['explore', file, '--schedule-timeout', '2'], () => false, []);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^limit: a schedule \(kernel seed \d+\) made no scheduling step for \d+ s \(--schedule-timeout 2\): thread "looper" is stuck in host code/m);
  }, 180_000);

  test('run --seeds: the summary of the seeds run so far, exit 130', async () => {
    const file = scenario('short-seeds', 'seeds.mark', 'for (let i = 0; i < 3; i++) await condResched(k);');
    const r = await interrupted(['run', file, '--seeds', '1..100000000'], marked('seeds.mark'), ['SIGINT']);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toMatch(/^short-seeds: seeds 1\.\.\d+ of 1\.\.100000000, interrupted \([\d,]+ runs?,/m);
    expect(r.stdout).toMatch(/clean +[\d,]+ seeds/);
  }, 180_000);

  test('check: the scenarios checked so far, exit 130', async () => {
    const r = await interrupted(['check', '--seeds', '1', '--trace-dir', 'check-out'], (out) => /^(ok|FAIL) /m.test(out), ['SIGINT']);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toMatch(/scenarios checked before the interrupt \(of \d+\)/);
  }, 180_000);
});
