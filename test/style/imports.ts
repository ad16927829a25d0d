/**
 * The import-structure rules of the house style, checked on the sources'
 * import graph (every relative `import`, `export ... from` and `import()`,
 * type-only ones included: a type import is a design dependency too):
 *
 * 1. Files in one folder do not import each other in a circle. A folder's
 *    files form a stack: types and small shared pieces at the bottom, entry
 *    points on top. Subfolders are folders of their own.
 * 2. A layer imports only from the layers below it, in DESIGN.md's order
 *    (kernel < check < fence < resv < pci < buf < gem < sched < hw <
 *    scenario < explore < trace < cli), with the `vitest/` entry on top; the library's
 *    root `src/index.ts` re-exports them all. Outside `src/`, a layer may
 *    import only the built-in scenarios' registry (`scenarios/index.ts`,
 *    which lists the folder at run time and imports no scenario): the
 *    scenarios sit on top of the library they drive.
 * 3. Across folders too, the sources' import graph has no cycle (a
 *    subfolder and its parent folder, say).
 */
import ts from 'typescript';
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** DESIGN.md's layer order, bottom first; `vitest` is the test-helper entry on top. */
export const LAYER_ORDER = [
  'kernel',
  'check',
  'fence',
  'resv',
  'pci',
  'buf',
  'gem',
  'sched',
  'hw',
  'scenario',
  'explore',
  'trace',
  'cli',
  'vitest',
] as const;

/** Every `.ts`/`.mts` file under `dir` (absolute paths, sorted). */
export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.m?ts$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

function resolveSpecifier(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  const candidates = [
    base,
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.mjs$/, '.mts'),
    `${base}.ts`,
    join(base, 'index.ts'),
  ];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/** The files `file` imports by relative path (static, re-export, dynamic; type-only included). */
export function relativeImports(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const deps = new Set<string>();
  for (const ref of info.importedFiles) {
    if (!ref.fileName.startsWith('.')) continue;
    const target = resolveSpecifier(file, ref.fileName);
    if (target) deps.add(target);
  }
  return [...deps].sort();
}

/** The import graph of the files under `dir`: file → files it imports. */
export function importGraph(dir: string): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of sourceFiles(dir)) g.set(f, relativeImports(f));
  return g;
}

/** Strongly connected components of more than one file (or a file importing itself), Tarjan's algorithm. */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** One folder's import cycles, file paths relative to `root`. */
export interface FolderCycle {
  readonly folder: string;
  readonly files: readonly string[];
}

/** The import cycles among the files of each folder under `dir` (only imports between files of one folder count). */
export function folderCycles(root: string, dir: string): FolderCycle[] {
  const graph = importGraph(join(root, dir));
  const byFolder = new Map<string, Map<string, string[]>>();
  for (const [f, deps] of graph) {
    const folder = dirname(f);
    let g = byFolder.get(folder);
    if (!g) byFolder.set(folder, (g = new Map<string, string[]>()));
    g.set(
      f,
      deps.filter((d) => dirname(d) === folder),
    );
  }
  const out: FolderCycle[] = [];
  for (const [folder, g] of [...byFolder].sort((a, b) => a[0].localeCompare(b[0]))) {
    for (const scc of cycles(g))
      out.push({
        folder: relative(root, folder),
        files: scc.map((f) => relative(folder, f)),
      });
  }
  return out;
}

/** An import from a layer to a layer above it. */
export interface UpwardImport {
  readonly file: string;
  readonly imports: string;
  readonly fromLayer: string;
  readonly toLayer: string;
}

/** The files outside `src/` that `src/` may import (see rule 2). */
export const OUTSIDE_SRC_ALLOWED = ['scenarios/index.ts'];

function layerOf(root: string, file: string): string | undefined {
  const parts = relative(join(root, 'src'), file).split(sep);
  return parts.length > 1 ? parts[0] : undefined;
}

function insideSrc(root: string, file: string): boolean {
  return !relative(join(root, 'src'), file).startsWith('..');
}

/** Every import under `src/` from a layer to one above it (LAYER_ORDER); the root `src/index.ts` is exempt. */
export function upwardImports(root: string): UpwardImport[] {
  const rank = (l: string): number => (LAYER_ORDER as readonly string[]).indexOf(l);
  const out: UpwardImport[] = [];
  for (const [f, deps] of importGraph(join(root, 'src'))) {
    const from = layerOf(root, f);
    if (from === undefined) continue;
    if (rank(from) < 0) throw new Error(`src/${from}/ is not in LAYER_ORDER (test/style/imports.ts): add it where DESIGN.md puts it`);
    for (const d of deps) {
      if (!insideSrc(root, d)) {
        const rel = relative(root, d).split(sep).join('/');
        if (!OUTSIDE_SRC_ALLOWED.includes(rel))
          out.push({ file: relative(root, f), imports: rel, fromLayer: from, toLayer: rel.split('/')[0]! });
        continue;
      }
      const to = layerOf(root, d);
      if (to === undefined) {
        out.push({ file: relative(root, f), imports: relative(root, d), fromLayer: from, toLayer: 'index' });
        continue;
      }
      if (rank(to) > rank(from))
        out.push({ file: relative(root, f), imports: relative(root, d), fromLayer: from, toLayer: to });
    }
  }
  return out;
}
