/**
 * `npm run bench`: imports every `bench/*.ts` (except this file and
 * result.ts), runs each exported function whose name starts with `bench`,
 * prints one table and writes `bench/results.json`. Each function returns a
 * `BenchResult` or a list of them (see result.ts).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './result.ts';

const dir = new URL('./', import.meta.url);
const only = process.argv.slice(2);

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (Math.abs(v) >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return v.toFixed(v % 1 === 0 ? 0 : 3);
}

const files = readdirSync(fileURLToPath(dir))
  .filter((f) => f.endsWith('.ts') && f !== 'main.ts' && f !== 'result.ts' && !f.endsWith('.d.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const results: (BenchResult & { file: string; fn: string })[] = [];
let failed = 0;
for (const file of files) {
  const mod = (await import(new URL(file, dir).href)) as Record<string, unknown>;
  for (const [fn, v] of Object.entries(mod)) {
    if (!fn.startsWith('bench') || typeof v !== 'function') continue;
    process.stderr.write(`running ${file} ${fn} ...\n`);
    try {
      const r = await (
        v as () => Promise<BenchResult | BenchResult[]> | BenchResult | BenchResult[]
      )();
      for (const x of Array.isArray(r) ? r : [r]) results.push({ ...x, file, fn });
    } catch (e) {
      failed++;
      process.stderr.write(`  ${fn} failed: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
}

const rows = results.map((r) => [
  r.name,
  `${fmt(r.value)} ${r.unit}`,
  r.baseline !== undefined ? fmt(r.baseline) : '',
  r.ratio !== undefined ? r.ratio.toFixed(2) : '',
  r.note ?? '',
]);
const head = ['benchmark', 'value', 'baseline', 'ratio', 'note'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
const line = (cells: string[]): string =>
  cells
    .map((c, i) => c.padEnd(widths[i]!))
    .join('  ')
    .trimEnd();
process.stdout.write(`${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
for (const row of rows) process.stdout.write(`${line(row)}\n`);

const out = {
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  results,
};
writeFileSync(fileURLToPath(new URL('results.json', dir)), `${JSON.stringify(out, null, 2)}\n`);
process.stdout.write(
  `\nwrote bench/results.json (${results.length} results${failed ? `, ${failed} failed` : ''})\n`,
);
if (failed) process.exitCode = 1;
