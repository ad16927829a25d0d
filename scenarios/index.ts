/**
 * The registry of built-in scenarios: every file in this folder (except this
 * one, `*.d.ts`, and files whose name starts with `_`) whose default export
 * is a scenario. The folder is scanned at run time, so a new scenario file
 * is listed without editing any list. By convention the file name is the
 * scenario name (`mutex-abba.ts` defines `mutex-abba`).
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One built-in scenario file: its base name (the scenario name by convention) and its URL. */
export interface BuiltinScenarioFile {
  readonly name: string;
  readonly url: string;
}

const SCENARIO_FILE = /^([^_.][^.]*)\.(ts|mts|js|mjs)$/;

/** The built-in scenario files, sorted by name. */
export function builtinScenarioFiles(): BuiltinScenarioFile[] {
  const dir = new URL('./', import.meta.url);
  const byName = new Map<string, BuiltinScenarioFile>();
  for (const file of readdirSync(fileURLToPath(dir)).sort()) {
    const m = SCENARIO_FILE.exec(file);
    if (!m || m[1] === 'index' || file.endsWith('.d.ts')) continue;
    const name = m[1]!;
    // Sources and their compiled twins may sit side by side: keep the first.
    if (!byName.has(name)) byName.set(name, { name, url: new URL(file, dir).href });
  }
  // Code-point order: the same on every host (localeCompare would also
  // initialise ICU's collator, about 11 ms of the start of every run).
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
