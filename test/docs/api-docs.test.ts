/**
 * The API reference's rules (see api-docs.ts): every exported symbol has a
 * doc comment, and every exported function or class of a model layer names
 * the kernel function or struct it models with `@kernel`. Gaps in the
 * `@kernel` rule that predate the check are listed in kernel-tag-gaps.txt;
 * the list may only shrink.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { checkApiDocs } from './api-docs.ts';
import type { ApiDocReport } from './api-docs.ts';

const root = process.cwd();
let report: ApiDocReport;

beforeAll(() => {
  report = checkApiDocs(root);
}, 120_000);

test('the check sees the whole public surface', () => {
  expect(report.exported).toBeGreaterThan(800);
});

test('every exported symbol has a doc comment', () => {
  const missing = report.noDocComment.map((g) => `${g.where}  ${g.key.split(': ')[1]!}`);
  expect(missing, `add a doc comment (/** ... */) to:\n${missing.join('\n')}`).toEqual([]);
});

test('every exported function and class of a model layer has an @kernel tag (or is a known gap)', () => {
  const listed = new Set(
    readFileSync(join(root, 'test/docs/kernel-tag-gaps.txt'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#')),
  );
  const gaps = new Set(report.noKernelTag.map((g) => g.key));
  const added = report.noKernelTag
    .filter((g) => !listed.has(g.key))
    .map((g) => `${g.where}  ${g.key}`);
  expect(
    added,
    `name the kernel function or struct each models with @kernel (or "@kernel none" and why):\n${added.join('\n')}`,
  ).toEqual([]);
  const closed = [...listed].filter((k) => !gaps.has(k));
  expect(
    closed,
    `these now have @kernel: delete their lines from test/docs/kernel-tag-gaps.txt`,
  ).toEqual([]);
});
