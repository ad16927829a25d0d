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

test("the tour's commands work as pasted on a fresh clone (dmabuf-lab is not on the PATH after npm ci)", () => {
  const tour = readme.slice(readme.indexOf('## A five-minute tour'), readme.indexOf('## Writing a scenario'));
  const blocks = [...tour.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(blocks.length).toBeGreaterThan(2);
  for (const b of blocks) expect(b).not.toMatch(/^dmabuf-lab /m);
  expect(blocks.join('\n')).toMatch(/^npm run cli -- run mutex-abba --seed 2$/m);
});

test('the exit-code table says a --timeout of a progressing run is a limit (1) and Ctrl-C is 130', () => {
  const table = readme.slice(readme.indexOf('### Exit codes'), readme.indexOf('## Checking real kernel traces'));
  expect(table).toMatch(/\| 1 +\|[^\n]*`--timeout` while the run was still making progress/);
  expect(table).toMatch(/\| 130 +\|[^\n]*Ctrl-C/);
});
