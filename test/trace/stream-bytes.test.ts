/**
 * `checkTraceStream` reads the file as bytes and takes the frequent lines
 * without decoding them (`parseTextBytes`, `TraceNormaliser.recordBytes`);
 * every other line goes through the text path. Both paths must give the
 * very same verdict: the stream result equals `checkTraceText` on the
 * decoded text, for the real captures and fixtures, for mutated copies,
 * for random trace-like lines and random bytes, whatever the chunking.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticTrace } from '../../bench/trace-check.ts';
import { checkTraceFile, checkTraceStream, checkTraceText } from '../../src/trace/index.ts';
import type { TraceCheckOptions } from '../../src/trace/index.ts';

// As real-captures.test.ts finds them (beside the repository, or the shared checkout).
const CAPTURES_DIR = fileURLToPath(new URL('../../../../shared/data/traces/', import.meta.url));
const CAPTURES = pathToFileURL(
  existsSync(CAPTURES_DIR) ? CAPTURES_DIR : '/work/shared/data/traces/',
);
const FIXTURES = new URL('./fixtures/', import.meta.url);

function files(dir: URL): Buffer[] {
  return readdirSync(dir)
    .filter((f) => !f.endsWith('.md'))
    .map((f) => readFileSync(new URL(f, dir)));
}

async function viaStream(
  bytes: Uint8Array,
  chunk: number,
  opts: TraceCheckOptions,
): Promise<unknown> {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
  return await checkTraceStream(Readable.from(parts), opts);
}

const tmp = mkdtempSync(join(tmpdir(), 'dmabuf-lab-trace-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});
let files_ = 0;

/** `checkTraceFile` on `bytes` written to a file, read `chunk` bytes at a time. */
async function viaFile(
  bytes: Uint8Array,
  chunk: number,
  opts: TraceCheckOptions,
): Promise<unknown> {
  const file = join(tmp, `t${files_++}.txt`);
  writeFileSync(file, bytes);
  try {
    return await checkTraceFile(file, opts, chunk);
  } finally {
    rmSync(file);
  }
}

/** The stream and the file give `checkTraceText`'s verdict, whatever the chunks or reads. */
async function same(
  bytes: Uint8Array,
  chunks: readonly number[],
  opts: TraceCheckOptions = {},
): Promise<void> {
  const text = checkTraceText(new TextDecoder().decode(bytes), opts);
  for (const c of chunks) {
    expect(await viaStream(bytes, c, opts)).toEqual(text);
    expect(await viaFile(bytes, c, opts)).toEqual(text);
  }
}

const enc = new TextEncoder();

describe('trace-check reads bytes and text alike', () => {
  it('every real capture and fixture, in chunks of any size', async () => {
    for (const b of [...files(CAPTURES), ...files(FIXTURES)]) await same(b, [1, 7, 64, 1 << 16]);
  });

  it('the synthetic benchmark trace with lines swapped, duplicated and dropped', async () => {
    const lines = syntheticTrace(3000).split('\n');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(lines.length - 2), fc.constantFrom('swap', 'dup', 'drop')), {
          maxLength: 20,
        }),
        async (edits) => {
          const l = [...lines];
          for (const [i, op] of edits) {
            if (op === 'swap') [l[i], l[i + 1]] = [l[i + 1]!, l[i]!];
            else if (op === 'dup') l.splice(i, 0, l[i]!);
            else l.splice(i, 1);
          }
          await same(enc.encode(l.join('\n')), [4093], { slowWaitNs: 5000 });
        },
      ),
      { numRuns: 15 },
    );
  });

  it('real lines cut, glued and spaced at random', async () => {
    const real = [...files(CAPTURES), ...files(FIXTURES)].flatMap((b) =>
      new TextDecoder().decode(b).split('\n'),
    );
    const bench = syntheticTrace(200).split('\n');
    const pool = [...real, ...bench];
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.nat(pool.length - 1),
            fc.nat(220),
            fc.constantFrom('', ' ', '\r', '0', ':', ' x'),
          ),
          { maxLength: 40 },
        ),
        fc.integer({ min: 1, max: 300 }),
        async (picks, chunk) => {
          const text = picks.map(([i, cut, add]) => pool[i]!.slice(0, cut) + add).join('\n');
          await same(enc.encode(text), [chunk]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('lines that repeat a task column of an earlier line, with any tail', async () => {
    // parseTextBytes reuses the parsed task / CPU / flags columns of an
    // earlier record when a line repeats them byte for byte: the tails here
    // (odd timestamps, perf-style names, colons) must read as the text path reads them.
    const records = [...files(CAPTURES), ...files(FIXTURES)]
      .flatMap((b) => new TextDecoder().decode(b).split('\n'))
      .concat(syntheticTrace(200).split('\n'));
    const heads: string[] = [];
    const tails: string[] = [];
    for (const l of records) {
      const m = /^(.*?\s)(\d+\.\d+: .*)$/.exec(l);
      if (m) {
        heads.push(m[1]!);
        tails.push(m[2]!);
      }
    }
    const odd = [
      '12: dma_fence_init: x',
      '.5: x: y',
      '5.: x: y',
      '1.2.3: x: y',
      '1.5:x: y',
      '1.5: sched:sched_switch: prev_comm=a',
      '1.5: gpu_scheduler:drm_sched_job_run: dev=0, fence=1:2, ring=r, job count:0, hw job count:0',
      '1.5',
      '1.5:',
      '1.5: ',
      'x 1.5: dma_fence_signaled: driver=d timeline=t context=1 seqno=1',
      '',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.nat(7),
            fc.oneof(fc.nat(tails.length - 1), fc.constantFrom(...odd.map((_, i) => -1 - i))),
          ),
          { maxLength: 60 },
        ),
        fc.nat(heads.length - 8),
        async (picks, base) => {
          const text = picks
            .map(([h, t]) => heads[base + h]! + (t >= 0 ? tails[t]! : odd[-1 - t]!))
            .join('\n');
          await same(enc.encode(text), [1 << 16]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('lines that repeat a fence line up to its seqno, with any ending', async () => {
    // TraceNormaliser.recordBytes takes a fence line whose bytes up to its
    // final digits repeat a line read in full (`FenceTails`) without reading
    // its name and payload again: whatever follows must read as the text path reads it.
    const fenceLines = [...files(CAPTURES), ...files(FIXTURES)]
      .flatMap((b) => new TextDecoder().decode(b).split('\n'))
      .concat(syntheticTrace(300).split('\n'))
      .filter((l) => /fence_\w+: driver=.* seqno=\d+$/.test(l));
    const cut = fenceLines.map((l) => l.replace(/\d+$/, ''));
    const endings = [
      '7',
      '0',
      '4294967295',
      '18446744073709551615',
      '12 ',
      '1x',
      'x',
      '',
      ' 5',
      '3\r',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.nat(cut.length - 1),
            fc.oneof(fc.constantFrom(...endings), fc.stringMatching(/^\d{1,20}$/)),
            // One byte of the repeated part changed (at a position from the end): a line alike but for it.
            fc.option(
              fc.tuple(fc.integer({ min: 1, max: 60 }), fc.constantFrom('0', '9', 'a', ' ', '=')),
            ),
          ),
          { maxLength: 80 },
        ),
        async (picks) => {
          // Each cut line first in full (so its tail is kept), then with the picked ending.
          const text = picks
            .flatMap(([i, e, change]) => {
              let c = cut[i]!;
              if (change && change[0] < c.length) {
                const at = c.length - change[0];
                c = c.slice(0, at) + change[1] + c.slice(at + 1);
              }
              return [fenceLines[i]!, c + e];
            })
            .join('\n');
          await same(enc.encode(text), [1 << 16, 97]);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("a damaged init takes its names from its own line, not from the context's earlier init", async () => {
    // `driver0amdgpu ...` is not the kernel's layout: its payload is read whole, as key=value
    // pairs (which name neither here), on either path, whatever names the context had before.
    const line = (t: number, ev: string, payload: string): string =>
      `          <idle>-0       [001] d.h1. ${t}.000000: ${ev}: ${payload}`;
    const text = [
      line(1, 'dma_fence_init', 'driver=amdgpu timeline=sdma0 context=7 seqno=1'),
      line(2, 'dma_fence_signaled', 'driver=amdgpu timeline=sdma0 context=7 seqno=1'),
      line(3, 'dma_fence_init', 'driver=amdgpu timeline=sdma0 context=7 seqno=2'),
      line(4, 'dma_fence_init', 'driver0amdgpu timeline=sdma0 context=7 seqno=3'),
    ].join('\n');
    const r = checkTraceText(text);
    const pending = r.findings.find((f) => f.rule === 'trace.fence_pending');
    const fences = (
      pending?.data as { fences: { seqno: number; driver: string; timeline: string }[] }
    ).fences;
    expect(fences.map((f) => [f.seqno, f.driver, f.timeline])).toEqual([
      [2, 'amdgpu', 'sdma0'],
      [3, '', ''],
    ]);
    await same(enc.encode(text), [1 << 16, 7]);
  });

  it('a file (checkTraceFile, two halves of one buffer read in turns), as its text', async () => {
    // Over 1 MiB (the chunk checkTraceFile reads): lines cross chunk boundaries.
    const text = syntheticTrace(12000);
    expect(text.length).toBeGreaterThan(1 << 20);
    const dir = mkdtempSync(join(tmpdir(), 'dmabuf-lab-trace-'));
    try {
      const file = join(dir, 'trace.txt');
      writeFileSync(file, text);
      expect(await checkTraceFile(file)).toEqual(checkTraceText(text));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file read in reads of no bytes, or of a fractional number, is a usage error', async () => {
    const file = join(tmp, 'usage.txt');
    writeFileSync(file, '# tracer: nop\n');
    for (const n of [0, -1, 1.5, Number.NaN])
      await expect(checkTraceFile(file, {}, n)).rejects.toThrow(RangeError);
  });

  it('random bytes (invalid UTF-8 and a byte order mark included)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.uint8Array({ maxLength: 1500 }),
        fc.integer({ min: 1, max: 200 }),
        async (bom, bytes, chunk) => {
          const b = bom ? new Uint8Array([0xef, 0xbb, 0xbf, ...bytes]) : bytes;
          await same(b, [chunk]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
