/**
 * The README's library-API examples run and print what their `// prints:`
 * lines say, importing the package's entry points (here: the sources they
 * are built from).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';

const root = process.cwd();
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const section = /\n## Library API\n([\s\S]*?)\n## /.exec(readme)![1]!;
const examples = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const dir = mkdtempSync(join(tmpdir(), 'dmabuf-lab-readme-api-'));

/** `'dmabuf-lab'` and `'dmabuf-lab/<layer>'` → the sources of this checkout. */
function fromSources(code: string): string {
  return code
    .replace(/from 'dmabuf-lab\/([a-z]+)'/g, (_, l: string) => `from '${root}/src/${l}/index.ts'`)
    .replace(/from 'dmabuf-lab'/g, `from '${root}/src/index.ts'`);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the README's library API examples", () => {
  test('there is one for each entry point a user needs first', () => {
    expect(examples.length).toBe(10);
    for (const e of examples) expect(e).toMatch(/from 'dmabuf-lab(\/[a-z]+)?'/);
  });

  examples.forEach((code, i) => {
    const first = /from '(dmabuf-lab[^']*)'/.exec(code)![1]!;
    test(`example ${i + 1} (${first}) prints what it says`, async () => {
      const printed: string[] = [];
      vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
        printed.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
      });
      const file = join(dir, `example-${i + 1}.mts`);
      writeFileSync(file, fromSources(code));
      await import(file);
      const wanted = [...code.matchAll(/^\/\/ prints: (.*)$/gm)].map((m) => m[1]!);
      expect(wanted.length).toBeGreaterThan(0);
      const out = printed.join('\n').replace(/"/g, "'").replace(/\[ /g, '[').replace(/ \]/g, ']');
      for (const w of wanted) expect(out).toContain(w.replace(/\[ /g, '[').replace(/ \]/g, ']'));
    });
  });
});
