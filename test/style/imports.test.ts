/**
 * The house style's import structure (rules in imports.ts): no import cycle
 * among the files of a folder, none across folders, and no import from a
 * layer to one above it in DESIGN.md's order. Type-only imports count: the
 * rule is about the files' dependency lines, not what survives compilation.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { cycles, folderCycles, importGraph, relativeImports, upwardImports } from './imports.ts';

const root = process.cwd();

function describeCycles(found: readonly { folder: string; files: readonly string[] }[]): string {
  return found.map((c) => `${c.folder}/: ${c.files.join(' → ')} (and back)`).join('\n');
}

describe('the sources', () => {
  test('files in one folder do not import each other in a circle', () => {
    const found = folderCycles(root, 'src');
    expect(
      found,
      `import cycles among a folder's files (put the shared types or pieces in a file below both, or forward-declare the class in the folder's forward.ts):\n${describeCycles(found)}`,
    ).toEqual([]);
  });

  test('nor across folders', () => {
    const found = cycles(importGraph(join(root, 'src'))).map((c) => c.map((f) => relative(root, f)));
    expect(found, `import cycles across folders:\n${found.map((c) => c.join(' → ')).join('\n')}`).toEqual([]);
  });

  test('no layer imports a layer above it', () => {
    const found = upwardImports(root).map((u) => `${u.file} imports ${u.imports} (${u.fromLayer} < ${u.toLayer})`);
    expect(found, `upward imports (DESIGN.md's layer order; move the shared piece down):\n${found.join('\n')}`).toEqual([]);
  });

  test('the built-in scenarios do not import each other in a circle', () => {
    const found = folderCycles(root, 'scenarios');
    expect(found, describeCycles(found)).toEqual([]);
  });
});

describe('the import scanner', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dmabuf-lab-imports-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const write = (file: string, text: string): string => {
    const p = join(dir, file);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
    return p;
  };
  // A cycle made only of a type import, a re-export and a dynamic import.
  const a = write('src/buf/a.ts', "import type { B } from './b.ts';\nexport type A = B | 1;\n");
  const b = write('src/buf/b.ts', "export type { C as B } from './c.ts';\n");
  const c = write('src/buf/c.ts', "export type C = 2;\nexport async function f(): Promise<unknown> { return import('./a.ts'); }\n");
  // Outside the cycle: a file importing into it, and a subfolder importing its parent.
  write('src/buf/top.ts', "import { f } from './c.ts';\nimport './heaps/h.ts';\nexport const g = f;\n");
  write('src/buf/heaps/h.ts', "import type { A } from '../a.ts';\nexport const h: A | null = null;\n");
  // An upward import (kernel below buf), and an import of a scenario file.
  write('src/kernel/k.ts', "import type { A } from '../buf/a.ts';\nimport '../../scenarios/foo.ts';\nexport type K = A;\n");
  write('src/explore/load.ts', "import { x } from '../../scenarios/index.ts';\nexport const y = x;\n");
  write('scenarios/index.ts', 'export const x = 1;\n');
  write('scenarios/foo.ts', 'export const foo = 1;\n');

  test('sees type imports, re-exports and dynamic imports', () => {
    expect(relativeImports(a)).toEqual([b]);
    expect(relativeImports(b)).toEqual([c]);
    expect(relativeImports(c)).toEqual([a]);
  });

  test('reports a folder cycle with its files, and only it', () => {
    expect(folderCycles(dir, 'src')).toEqual([{ folder: 'src/buf', files: ['a.ts', 'b.ts', 'c.ts'] }]);
  });

  test('reports an upward import and an import outside src/ other than the scenario registry', () => {
    expect(upwardImports(dir).map((u) => `${u.file} → ${u.imports}`)).toEqual([
      'src/kernel/k.ts → scenarios/foo.ts',
      'src/kernel/k.ts → src/buf/a.ts',
    ]);
  });
});
