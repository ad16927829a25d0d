import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { loadScenario, runScenario } from '../../src/explore/index.ts';

const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');

test('the README opens with the install-and-run and the test commands', () => {
  const first = /```sh\n([\s\S]*?)```/.exec(readme)![1]!;
  expect(first).toMatch(/^npm ci && npm start\b/m);
  expect(first).toMatch(/^npm test\b/m);
});

test("the README's example scenario runs clean as it says", async () => {
  const block = /Save this as\s+`my-scenario\.ts`[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)![1]!;
  const src = block.replaceAll("'./src/", `'${process.cwd()}/src/`);
  const file = join(mkdtempSync(join(tmpdir(), 'dmabuf-lab-readme-')), 'my-scenario.ts');
  writeFileSync(file, src);
  const { scenario } = await loadScenario(file);
  for (const seed of [1, 2, 3]) {
    const run = await runScenario(scenario, { seed });
    expect(run.verdict).toMatchObject({ actual: 'clean', matches: true });
    expect(run.notes).toEqual(['consumer saw 3 items']);
  }
});
