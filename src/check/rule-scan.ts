/**
 * Finds every rule id the library can report, by reading its sources, so a
 * test can assert that the catalogue (`rules.ts`) explains each of them.
 * Node only (reads files); not part of the simulation.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { explainRule } from './rules.ts';

/** A rule id found in the sources, with the first place it appears. */
export interface FoundRule {
  readonly id: string;
  readonly file: string;
  readonly line: number;
}

const LITERAL = /'([a-z][a-z0-9_]*\.[a-z0-9_]+)'|"([a-z][a-z0-9_]*\.[a-z0-9_]+)"/g;
const RULE_FIELD = /\brule:\s*([^\n]*)/g;
const RULE_TEMPLATE = /\brule:\s*`([a-z][a-z0-9_]*)\.\$\{rule\}`/g;
/** Files that mention rule ids without reporting them. */
const IGNORED = [/^check\/rules\.ts$/, /^check\/rule-scan\.ts$/, /^cli\//, /^trace\//];

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listTs(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** A function or method with a `rule: string` parameter: its callers pass rule ids. */
const RULE_PARAM = /(?:function\s+)?(\w+)\s*\(\s*(?:\w+\??\s*:\s*[\w.<>|[\] ]+,\s*)*rule\s*:\s*string\b/g;

/**
 * Every rule id reported anywhere under `srcRoot`: literals in `rule:`
 * fields (including both arms of a conditional), and the ids passed to
 * report helpers (functions or methods with a `rule: string` parameter),
 * prefixed with the helper's namespace when it builds the id with a
 * template (`` rule: `ww_mutex.${rule}` ``).
 */
export function findRuleIds(srcRoot: string): FoundRule[] {
  const files = listTs(srcRoot)
    .map((f) => ({ file: relative(srcRoot, f), text: readFileSync(f, 'utf8') }))
    .filter((f) => !IGNORED.some((re) => re.test(f.file)));
  const found = new Map<string, FoundRule>();
  const add = (id: string, file: string, text: string, index: number): void => {
    if (!found.has(id)) found.set(id, { id, file, line: lineOf(text, index) });
  };
  const helpers = new Map<string, string | null>();
  for (const { file, text } of files) {
    for (const m of text.matchAll(RULE_FIELD)) {
      for (const l of m[1]!.matchAll(LITERAL)) add(l[1] ?? l[2]!, file, text, m.index);
    }
    for (const m of text.matchAll(RULE_PARAM)) {
      const name = m[1]!;
      if (['if', 'for', 'while', 'switch', 'return'].includes(name)) continue;
      // A template building the id from the parameter, close to the signature.
      const body = text.slice(m.index, m.index + 800);
      const tpl = RULE_TEMPLATE.exec(body);
      RULE_TEMPLATE.lastIndex = 0;
      helpers.set(name, tpl ? tpl[1]! : (helpers.get(name) ?? null));
    }
  }
  for (const { file, text } of files) {
    for (const [fn, ns] of helpers) {
      const lit = ns ? "'([a-z][a-z0-9_]*)'" : "'([a-z][a-z0-9_]*\\.[a-z0-9_]+)'";
      const call = new RegExp(`\\b${fn}\\(\\s*(?:[^'()]|\\([^()]*\\))*?${lit}`, 'g');
      for (const m of text.matchAll(call)) add(ns ? `${ns}.${m[1]!}` : m[1]!, file, text, m.index);
    }
  }
  return [...found.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** Rule ids used under `srcRoot` that the catalogue does not explain. */
export function uncataloguedRules(srcRoot: string): FoundRule[] {
  return findRuleIds(srcRoot).filter((r) => explainRule(r.id) === null);
}

/**
 * Test helper: throws, listing the missing ids and where they are used,
 * unless every rule id under `srcRoot` has a catalogue entry.
 */
export function assertRuleCatalogueComplete(srcRoot: string): void {
  const missing = uncataloguedRules(srcRoot);
  if (missing.length === 0) return;
  throw new Error(
    `${missing.length} rule id${missing.length > 1 ? 's are' : ' is'} reported but not in src/check/rules.ts:\n` +
      missing.map((r) => `  ${r.id} (${r.file}:${r.line})`).join('\n') +
      '\nAdd an entry (id, title, explanation, kernel source) for each to ruleCatalogue.',
  );
}
