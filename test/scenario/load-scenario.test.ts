import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  isScenarioPath,
  listBuiltinScenarios,
  loadScenario,
  ScenarioError,
} from '../../src/scenario/index.ts';
import { builtinScenarioFiles } from '../../scenarios/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'dmabuf-lab-load-'));
const lib = join(process.cwd(), 'src/scenario/index.ts');
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
async function failure(ref: string): Promise<ScenarioError> {
  const e = await loadScenario(ref).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(ScenarioError);
  return e as ScenarioError;
}

describe('built-in scenarios', () => {
  test('the registry lists every scenario file by name, without index.ts', () => {
    const names = builtinScenarioFiles().map((f) => f.name);
    expect(names).toContain('mutex-abba');
    expect(names).not.toContain('index');
    expect([...names].sort()).toEqual(names);
  });

  test('load by name, and every built-in loads with a valid expectation', async () => {
    const { scenario, builtin } = await loadScenario('mutex-abba');
    expect(builtin).toBe(true);
    expect(scenario.expect).toEqual({ verdict: 'splat', rules: ['sched.deadlock'], seeds: 'some' });
    for (const b of await listBuiltinScenarios())
      expect('scenario' in b ? b.scenario.name : b.error.message).toBeTruthy();
  });

  test('an unknown name says how to find the right one', async () => {
    const e = await failure('mutex-abab');
    expect(e.kind).toBe('not-found');
    expect(e.message).toMatch(/dmabuf-lab list/);
  });
});

describe('scenario files', () => {
  test('paths are told apart from names', () => {
    expect(isScenarioPath('./x.ts')).toBe(true);
    expect(isScenarioPath('x.mjs')).toBe(true);
    expect(isScenarioPath('mutex-abba')).toBe(false);
  });

  test('a file exporting a scenario loads', async () => {
    const p = file(
      'ok.ts',
      `import { defineScenario } from ${JSON.stringify(lib)};\nexport default defineScenario({ name: 'ok', description: 'd', expect: { verdict: 'clean' }, setup() {} });\n`,
    );
    const { scenario, ref } = await loadScenario(p);
    expect(scenario.name).toBe('ok');
    expect(ref).toBe(p);
  });

  test('a JavaScript file without description or expect gets defaults', async () => {
    const p = file('plain.mjs', `export const scenario = { name: 'plain', setup() {} };\n`);
    const { scenario } = await loadScenario(p);
    expect(scenario.expect).toEqual({ verdict: 'clean' });
    expect(scenario.description).toBe('');
  });

  test('a missing file', async () => {
    const e = await failure(join(dir, 'missing.ts'));
    expect(e.kind).toBe('not-found');
    expect(e.message).toMatch(/does not exist/);
  });

  test('a file that throws while loading', async () => {
    const e = await failure(file('throws.mjs', `throw new Error('boom at load');\n`));
    expect(e.kind).toBe('load');
    expect(e.message).toMatch(/boom at load/);
  });

  test('a file that exports no scenario says what to export', async () => {
    const e = await failure(file('nothing.mjs', `export const answer = 42;\n`));
    expect(e.kind).toBe('no-export');
    expect(e.message).toMatch(/exports answer/);
    expect(e.message).toMatch(/export default defineScenario/);
  });

  test('a scenario with a malformed expectation', async () => {
    const e = await failure(
      file(
        'bad.mjs',
        `export default { name: 'bad', expect: { verdict: 'splat' }, setup() {} };\n`,
      ),
    );
    expect(e.kind).toBe('invalid');
    expect(e.message).toMatch(/expect/);
  });
});
