/**
 * Child process of bench/trace-check.ts: reads one trace file either the
 * floor's way (read the file with a stream and split it into lines,
 * nothing else) or trace-check's way (`checkTraceFile`, what
 * `dmabuf-lab trace-check FILE` runs), and prints lines, wall ms and peak
 * RSS as JSON. A process of its own, so each measures its own peak memory.
 */
import { createReadStream } from 'node:fs';
import { checkTraceFile, LineSplitter } from '../../src/trace/index.ts';

const [mode, file] = process.argv.slice(2) as ['floor' | 'check', string];
const t0 = performance.now();
let lines = 0;
let findings = 0;
if (mode === 'floor') {
  const s = new LineSplitter((l) => {
    if (l.length >= 0) lines++;
  });
  const dec = new TextDecoder('utf-8');
  for await (const chunk of createReadStream(file))
    s.push(dec.decode(chunk as Uint8Array, { stream: true }));
  s.end();
} else {
  const r = await checkTraceFile(file);
  lines = r.lines;
  findings = r.findings.filter((f) => f.severity !== 'info').length;
}
const ms = performance.now() - t0;
process.stdout.write(
  `${JSON.stringify({ lines, ms, maxRssKb: process.resourceUsage().maxRSS, findings })}\n`,
);
