/**
 * The API documentation rules, checked with the TypeScript compiler on the
 * public surface (every symbol exported by a package entry point: the
 * layers' `index.ts` and `src/vitest/index.ts`):
 *
 * 1. Every exported symbol has a doc comment. A run of consecutive exported
 *    constants and types (no blank line between them, as a kernel header
 *    lists flags) shares the doc comment of its first declaration.
 * 2. A symbol that models a kernel function or struct names it with a
 *    `@kernel` tag. Recognised per layer folder: the model layers (kernel,
 *    check, fence, resv, pci, buf, gem, sched, hw) model the kernel, so
 *    every exported function and class declared there needs `@kernel
 *    <name>`, or `@kernel none` and why for model machinery with no kernel
 *    counterpart (the seeded chooser, the event stream). Interfaces, types
 *    and constants need only the doc comment; class members follow their
 *    class (their names are the kernel's, e.g. `signal` for
 *    `dma_fence_signal`) and are not checked.
 */
import ts from 'typescript';
import { relative } from 'node:path';

/** Folders under src/ that model the kernel. */
export const MODEL_LAYERS = [
  'kernel',
  'check',
  'fence',
  'resv',
  'pci',
  'buf',
  'gem',
  'sched',
  'hw',
];
/** Every folder with a package entry point (`dmabuf-lab/<folder>`). */
export const ENTRY_LAYERS = [...MODEL_LAYERS, 'scenario', 'explore', 'trace', 'vitest'];

/** One exported symbol that breaks a rule. */
export interface DocGap {
  /** `src/kernel/alloc.ts: kfree` */
  readonly key: string;
  /** `src/kernel/alloc.ts:42` */
  readonly where: string;
}

/** What `checkApiDocs` finds. */
export interface ApiDocReport {
  readonly exported: number;
  readonly noDocComment: readonly DocGap[];
  readonly noKernelTag: readonly DocGap[];
}

function hasDoc(sym: ts.Symbol, decl: ts.Declaration, checker: ts.TypeChecker): boolean {
  if (sym.getDocumentationComment(checker).length > 0) return true;
  if (sym.getJsDocTags(checker).length > 0) return true;
  return sharesGroupDoc(decl);
}

/** A constant or type in a run of exported constants and types whose first one has a doc comment. */
function grouped(n: ts.Node): n is ts.VariableStatement | ts.TypeAliasDeclaration {
  return (
    (ts.isVariableStatement(n) || ts.isTypeAliasDeclaration(n)) &&
    (n.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false)
  );
}

function sharesGroupDoc(decl: ts.Declaration): boolean {
  let stmt: ts.Node = ts.isVariableDeclaration(decl) ? decl.parent.parent : decl;
  if (!grouped(stmt)) return false;
  const sf = stmt.getSourceFile();
  const list = sf.statements;
  let i = list.indexOf(stmt);
  while (i > 0 && ts.getJSDocCommentsAndTags(stmt).length === 0) {
    const prev = list[i - 1]!;
    if (!grouped(prev)) break;
    // A blank line ends the run.
    const gap = sf.text.slice(prev.end, stmt.getStart(sf));
    if (/\n\s*\n/.test(gap)) break;
    stmt = prev;
    i--;
  }
  return ts.getJSDocCommentsAndTags(stmt).length > 0;
}

/** Check the public surface of the project at `root` (with its tsconfig.build.json). */
export function checkApiDocs(root: string): ApiDocReport {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    `${root}/tsconfig.build.json`,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error('tsconfig.build.json does not parse');
  const program = ts.createProgram(parsed.fileNames, { ...parsed.options, noEmit: true });
  const checker = program.getTypeChecker();
  const seen = new Set<ts.Symbol>();
  const noDocComment: DocGap[] = [];
  const noKernelTag: DocGap[] = [];
  for (const layer of ENTRY_LAYERS) {
    const sf = program.getSourceFile(`${root}/src/${layer}/index.ts`);
    const mod = sf && checker.getSymbolAtLocation(sf);
    if (!mod) throw new Error(`src/${layer}/index.ts is missing or exports nothing`);
    for (const ex of checker.getExportsOfModule(mod)) {
      const sym = ex.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(ex) : ex;
      if (seen.has(sym)) continue;
      seen.add(sym);
      const decl = sym.declarations?.[0];
      if (!decl) continue;
      const file = relative(root, decl.getSourceFile().fileName);
      const line = decl.getSourceFile().getLineAndCharacterOfPosition(decl.getStart()).line + 1;
      const gap = { key: `${file}: ${sym.name}`, where: `${file}:${line}` };
      if (!hasDoc(sym, decl, checker)) noDocComment.push(gap);
      const folder = file.split('/')[1] ?? '';
      const fnOrClass = (sym.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class)) !== 0;
      if (
        MODEL_LAYERS.includes(folder) &&
        fnOrClass &&
        !sym.getJsDocTags(checker).some((t) => t.name === 'kernel')
      )
        noKernelTag.push(gap);
    }
  }
  const byKey = (a: DocGap, b: DocGap): number => a.key.localeCompare(b.key);
  return {
    exported: seen.size,
    noDocComment: noDocComment.sort(byKey),
    noKernelTag: noKernelTag.sort(byKey),
  };
}
