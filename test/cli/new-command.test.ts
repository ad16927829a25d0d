/**
 * `dmabuf-lab new`: the file it writes imports the library the way its
 * location needs, carries the rules for thread bodies, and runs clean as
 * written, inside the checkout (in process) and outside it (through the CLI).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { importSpecifier, newTarget } from '../../src/cli/new-command.ts';
import { runInTest } from '../../src/vitest/index.ts';

const root = process.cwd();
const bin = join(root, 'bin/dmabuf-lab.js');

function cli(
  cwd: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        cwd,
        env: { ...process.env, NO_COLOR: '1', CI: '1', DMABUF_LAB_SOURCES: '1' },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

describe('where new writes and what it imports', () => {
  test('a name becomes ./<name>.ts; a path ending in .ts is kept', () => {
    expect(newTarget('my-driver', '/w')).toEqual({ file: '/w/my-driver.ts', name: 'my-driver' });
    expect(newTarget('scenarios/npu-x.ts', '/w')).toEqual({
      file: '/w/scenarios/npu-x.ts',
      name: 'npu-x',
    });
  });

  test('other extensions and unusable names are refused with what to type instead', () => {
    expect(newTarget('x.js', '/w')).toMatch(/writes TypeScript scenario files/);
    expect(newTarget('my driver', '/w')).toMatch(/not a usable scenario name/);
  });

  test('inside the checkout: relative paths to the sources; elsewhere: the package subpaths', () => {
    expect(importSpecifier('/repo/scenarios/x.ts', '/repo', 'kernel')).toBe(
      '../src/kernel/index.ts',
    );
    expect(importSpecifier('/repo/x.ts', '/repo', 'explore')).toBe('./src/explore/index.ts');
    expect(importSpecifier('/home/me/x.ts', '/repo', 'kernel')).toBe('dmabuf-lab/kernel');
    expect(importSpecifier('/repo-other/x.ts', '/repo', 'kernel')).toBe('dmabuf-lab/kernel');
    expect(importSpecifier('/repo/x.ts', null, 'explore')).toBe('dmabuf-lab/explore');
  });
});

describe('the written scenario', () => {
  test('inside the checkout it imports the sources and runs clean on several seeds', async () => {
    mkdirSync(join(root, 'tmp'), { recursive: true });
    const dir = mkdtempSync(join(root, 'tmp', 'new-'));
    const r = await cli(dir, 'new', 'fresh-idea');
    expect(r.code).toBe(0);
    const file = join(dir, 'fresh-idea.ts');
    const text = readFileSync(file, 'utf8');
    expect(text).toContain("import { defineScenario } from '../../src/scenario/index.ts';");
    expect(text).toContain("import { msleep, Mutex } from '../../src/kernel/index.ts';");
    expect(text).toContain('Rules for thread bodies');
    expect(text).toContain("expect: { verdict: 'clean' }");
    expect(text).toContain("k.kthreadRun('fresh_idea_worker'");
    for (const seed of [1, 2, 3]) {
      const run = await runInTest(file, { seed });
      expect(run).toBeClean();
      expect(run.notes).toEqual(['fresh_idea_worker did 3 units of work']);
    }
  });

  test('outside the checkout it imports the package subpaths and runs clean through the CLI', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmabuf-lab-new-'));
    const made = await cli(dir, 'new', 'my-driver');
    expect(made.code).toBe(0);
    expect(made.stdout).toContain(
      "wrote ./my-driver.ts (scenario my-driver, imports 'dmabuf-lab/scenario' and 'dmabuf-lab/kernel')",
    );
    expect(made.stdout).toContain('npm install --save-dev dmabuf-lab');
    expect(readFileSync(join(dir, 'my-driver.ts'), 'utf8')).toContain("from 'dmabuf-lab/kernel'");
    const ran = await cli(dir, 'run', './my-driver.ts', '--json');
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    const summary = JSON.parse(ran.stdout) as { verdict: { actual: string; matches: boolean } };
    expect(summary.verdict).toMatchObject({ actual: 'clean', matches: true });

    const again = await cli(dir, 'new', 'my-driver');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('./my-driver.ts exists; choose another name, or add --force');
    expect((await cli(dir, 'new', 'my-driver', '--force')).code).toBe(0);
  });
});
