/**
 * The HTML report without a browser: one self-contained document, every
 * section, run data embedded safely, text from the scenario escaped; and
 * the timeline data it draws from (lanes, intervals, arrows, markers, the
 * schedule's alternatives). test/trace/report-browser.test.ts drives it in
 * Chromium.
 */
import { describe, expect, test } from 'vitest';
import { defineScenario, loadScenario, runScenario } from '../../src/explore/index.ts';
import { Completion, Mutex, msleep } from '../../src/kernel/index.ts';
import type { KernelEvent } from '../../src/kernel/index.ts';
import { embedJson, toHtmlReport } from '../../src/trace/index.ts';
import type { HtmlReportInput } from '../../src/trace/index.ts';
import { timelineData } from '../../src/trace/html-data.ts';
import type { EncodedTimeline, TimelineData } from '../../src/trace/html-model.ts';

async function abba(): Promise<{ html: string; input: HtmlReportInput }> {
  const { scenario } = await loadScenario('mutex-abba');
  const run = await runScenario(scenario, { seed: 2, trace: true, captureStacks: true });
  const input: HtmlReportInput = {
    title: 'mutex-abba <seed 2>',
    summary: [['result', run.result.end]],
    splats: run.result.splats,
    events: run.events,
    decisions: run.result.schedule.decisions,
    replay: 'dmabuf-lab run mutex-abba --seed 2',
  };
  return { html: toHtmlReport(input), input };
}

function embedded(html: string): { timeline: EncodedTimeline | null } {
  const m = /<script type="application\/json" id="run-data">([\s\S]*?)<\/script>/.exec(html)!;
  return JSON.parse(m[1]!) as { timeline: EncodedTimeline | null };
}

/** The client's decoding of the embedded timeline (html-client.ts does the same). */
function decode(e: EncodedTimeline): Omit<TimelineData, 'choices'> & {
  decisions: { at: number; chosen: string; options: string[]; ops: string[] }[];
} {
  const undelta = (a: number[]): number[] => {
    const out = [...a];
    for (let i = 1; i < out.length; i++) out[i]! += out[i - 1]!;
    return out;
  };
  const ivE = undelta(e.iv.e);
  const arTa = undelta(e.ar.ta);
  const at = undelta(e.ch.at);
  let j = 0;
  const decisions = e.ch.n.map((n, q) => {
    const opts = e.ch.o.slice(j, j + n).map((x) => e.str[x]!);
    const ops = e.ch.p.slice(j, j + n).map((x) => e.ch.q[x]!);
    j += n;
    return { at: at[q]!, chosen: e.str[e.ch.c[q]!]!, options: opts, ops };
  });
  const { ch: _ch, ...rest } = e;
  return {
    ...rest,
    t: undelta(e.t),
    step: undelta(e.step),
    iv: { ...e.iv, e: ivE, s: e.iv.s.map((v, i) => ivE[i]! - v) },
    mk: { ...e.mk, at: undelta(e.mk.at) },
    ar: { ...e.ar, ta: arTa, fa: e.ar.fa.map((v, i) => arTa[i]! - v) },
    decisions,
  };
}

/** Lane names of a group. */
function lanes(d: TimelineData, group: string): string[] {
  const g = d.groups.indexOf(group);
  return d.lanes.filter((l) => l.g === g).map((l) => d.str[l.n]!);
}

/** Interval labels of a lane. */
function intervals(
  d: TimelineData,
  lane: string,
): { style: string; label: string; s: number; e: number }[] {
  const out = [];
  for (let k = 0; k < d.iv.lane.length; k++) {
    if (d.str[d.lanes[d.iv.lane[k]!]!.n] !== lane) continue;
    out.push({
      style: d.styles[d.iv.k[k]!]!.name,
      label: d.str[d.iv.l[k]!]!,
      s: d.iv.s[k]!,
      e: d.iv.e[k]!,
    });
  }
  return out;
}

function marks(d: TimelineData, lane: string): string[] {
  const out: string[] = [];
  for (let k = 0; k < d.mk.lane.length; k++)
    if (d.str[d.lanes[d.mk.lane[k]!]!.n] === lane) out.push(d.str[d.mk.l[k]!]!);
  return out;
}

describe('HTML report', () => {
  test('is one self-contained document with the summary, splats and their backtraces, timeline, schedule, legend and replay command', async () => {
    const { html, input } = await abba();
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)=/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain('mutex-abba &lt;seed 2&gt;');
    expect(html).toContain('sched.deadlock');
    expect(html).toContain('thread_ab blocked in mutex_lock');
    expect(html).toContain('dmabuf-lab run mutex-abba --seed 2');
    expect(html).toContain(`Schedule (${input.decisions.length} decisions)`);
    // source lines as editor links and plain paths
    expect(html).toMatch(
      /<a href="vscode:\/\/file\/[^"]*scenarios\/mutex-abba\.ts:\d+:\d+"[^>]*>scenarios\/mutex-abba\.ts:\d+:\d+<\/a>/,
    );
    expect(html).toMatch(/<a class="plain" href="file:\/\/\/[^"]*scenarios\/mutex-abba\.ts"/);
    // every splat has an anchor the timeline's markers scroll to, and a way back
    input.splats.forEach((_, i) => {
      expect(html).toContain(`id="splat-${i}"`);
      expect(html).toContain(`data-show-splat="${i}"`);
    });
    // the legend explains lockdep's notation
    expect(html).toContain('Usage characters');
    expect(html).toContain('[EN]');
    // times in one unit: ms, with ns in the tooltip
    expect(html).toContain('<span title="2000000 ns">2 ms</span>');
  });

  test('a thread error is shown with the line that threw, as an editor link', () => {
    const html = toHtmlReport({
      title: 't',
      summary: [],
      splats: [],
      events: null,
      decisions: [],
      replay: 'r',
      cwd: '/home/dev/project',
      failure: {
        kind: 'thread-exception',
        message: 'thread "importer" threw: stale',
        stack: [{ kind: 'user', fn: 'importerCheck', file: 'scenarios/x.ts', line: 3, col: 9 }],
      },
    });
    expect(html).toContain('<h2>The run failed</h2>');
    expect(html).toContain('thread &quot;importer&quot; threw: stale');
    expect(html).toContain('<a href="vscode://file/home/dev/project/scenarios/x.ts:3:9"');
    expect(html).toContain('href="file:///home/dev/project/scenarios/x.ts"');
    // no events: the timeline says so instead of drawing
    expect(html).toContain('"timeline":null');
  });

  test('embedded data cannot close its script element or break on line separators', () => {
    const payload = 'x</script><script>alert(1)</script>\u2028\u2029<!--';
    const s = embedJson({ payload });
    expect(s).not.toMatch(/<\/script/i);
    expect(s).not.toContain('<!--');
    expect(s).not.toContain('\u2028');
    expect(JSON.parse(s)).toEqual({ payload });
  });

  test('text from the scenario is escaped in the document, and only present as data elsewhere', async () => {
    const evil = '<img src=x onerror="window.__pwned=1">';
    const s = defineScenario({
      name: `evil ${evil}`,
      description: evil,
      expect: { verdict: 'clean' },
      setup(k, ctx) {
        const m = new Mutex(k, `lock ${evil}</script>`, { key: 'evil:lock' });
        k.kthreadRun(`t ${evil}`, async () => {
          await m.lock();
          m.unlock();
          ctx.note(`note ${evil}`);
        });
      },
    });
    const run = await runScenario(s, { trace: true });
    const html = toHtmlReport({
      title: `run of ${evil}`,
      summary: [['note', run.notes[0]!]],
      splats: [
        {
          rule: `rule${evil}`,
          severity: 'warn',
          headline: evil,
          body: `</pre>${evil}`,
          thread: evil,
          timeNs: 0,
          step: 0,
          stacks: [
            {
              label: evil,
              thread: evil,
              step: 1,
              frames: [{ kind: 'user', fn: evil, file: `a${evil}.ts`, line: 1, col: 2 }],
            },
          ],
        },
      ],
      events: run.events,
      decisions: run.result.schedule.decisions,
      replay: `dmabuf-lab run '${evil}'`,
    });
    const withoutData = html.replace(
      /<script type="application\/json" id="run-data">[\s\S]*?<\/script>/,
      '',
    );
    expect(withoutData).not.toContain('<img');
    expect(withoutData).toContain('&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;');
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    // the names reach the client as data
    const data = embedded(html);
    expect(data.timeline!.str.some((x) => x.includes('<img'))).toBe(true);
  });

  test('the embedded timeline decodes to the timeline data, decisions included', async () => {
    const { html, input } = await abba();
    const d = timelineData(input.events!);
    const got = decode(embedded(html).timeline!);
    expect(got.t).toEqual(d.t);
    expect(got.step).toEqual(d.step);
    expect(got.iv).toEqual(d.iv);
    expect(got.mk).toEqual(d.mk);
    expect(got.ar).toEqual(d.ar);
    expect(got.lanes).toEqual(d.lanes);
    expect(got.decisions).toEqual(
      d.choices.map((c) => ({ at: c.at, chosen: c.chosen, options: c.options, ops: c.ops })),
    );
  });
});

describe('timeline data', () => {
  test('threads show running, runnable and blocked with what they block on; locks show holds and waits', async () => {
    const { input } = await abba();
    const d = timelineData(input.events!);
    expect(lanes(d, 'threads')).toEqual(['thread_ab', 'thread_ba']);
    expect(lanes(d, 'locks')).toEqual(expect.arrayContaining(['lock_a', 'lock_b']));
    const ab = intervals(d, 'thread_ab').map((x) => x.style);
    expect(ab).toEqual(expect.arrayContaining(['running', 'runnable', 'blocked']));
    expect(
      intervals(d, 'thread_ab').some((x) =>
        x.label.includes('blocked in mutex_lock on mutex lock_b'),
      ),
    ).toBe(true);
    const lockA = intervals(d, 'lock_a');
    expect(
      lockA.some((x) => x.style === 'held' && x.label.startsWith('lock_a held by thread_ab')),
    ).toBe(true);
    expect(
      lockA.some(
        (x) => x.style === 'waiting' && x.label.startsWith('thread_ba waiting for lock_a'),
      ),
    ).toBe(true);
    // an interval never overlaps another in its row
    for (let a = 0; a < d.iv.lane.length; a++)
      for (let b = a + 1; b < d.iv.lane.length; b++)
        if (
          d.iv.lane[a] === d.iv.lane[b] &&
          d.iv.row[a] === d.iv.row[b] &&
          !d.styles[d.iv.k[a]!]!.thin &&
          !d.styles[d.iv.k[b]!]!.thin
        )
          expect(d.iv.e[a]! <= d.iv.s[b]! || d.iv.e[b]! <= d.iv.s[a]!).toBe(true);
    // both splats are markers, the lockdep one on thread_ab's lane
    expect(d.sp.idx).toEqual([0, 1]);
    expect(d.str[d.lanes[d.sp.lane[0]!]!.n]).toBe('thread_ab');
  });

  test('a decision lists the chosen thread, the operation each option was waiting at, and the alternatives', async () => {
    const { input } = await abba();
    const d = timelineData(input.events!);
    expect(d.choices.length).toBeGreaterThan(0);
    const c = d.choices[0]!;
    expect(c.kind).toBe('thread');
    expect(c.options).toContain(c.chosen);
    expect(c.options.length).toBeGreaterThan(1);
    expect(c.ops).toHaveLength(c.options.length);
    expect(d.step[c.at]).toBeGreaterThan(0);
  });

  test('an unlock or a completion that wakes a thread becomes an arrow named after it', async () => {
    const s = defineScenario({
      name: 'handoff',
      description: 'a lock handed over and a completion',
      expect: { verdict: 'clean' },
      setup(k) {
        const m = new Mutex(k, 'handoff_lock', { key: 'handoff:lock' });
        const done = new Completion(k, 'done');
        k.kthreadRun('owner', async () => {
          await m.lock();
          await msleep(k, 1);
          m.unlock();
          done.complete();
        });
        k.kthreadRun('waiter', async () => {
          await msleep(k, 0);
          await m.lock();
          m.unlock();
          await done.waitForCompletion();
        });
      },
    });
    const run = await runScenario(s, { seed: 1, trace: true });
    expect(run.result.failure).toBeNull();
    const d = timelineData(run.events!);
    const arrows = d.ar.l.map(
      (l, k) =>
        `${d.str[d.lanes[d.ar.fl[k]!]!.n]} -> ${d.str[d.lanes[d.ar.tl[k]!]!.n]}: ${d.str[l]}`,
    );
    expect(arrows).toContain('owner -> waiter: unlock of handoff_lock wakes waiter');
    for (let k = 0; k < d.ar.fa.length; k++) expect(d.ar.fa[k]!).toBeLessThanOrEqual(d.ar.ta[k]!);
  });

  test('fences per context from init to signal, jobs from queue to done, IRQs', async () => {
    const { scenario } = await loadScenario('npu-submit');
    const run = await runScenario(scenario, { seed: 1, trace: true });
    const d = timelineData(run.events!);
    const fences = lanes(d, 'fences');
    expect(fences.length).toBeGreaterThanOrEqual(2);
    expect(fences.every((f) => /\(context \d+\)$/.test(f))).toBe(true);
    const f = intervals(d, fences[0]!);
    expect(f.length).toBeGreaterThan(0);
    expect(f.every((x) => /^fence \d+:\d+ signalled/.test(x.label))).toBe(true);
    const jobs = lanes(d, 'scheduler jobs');
    expect(jobs).toHaveLength(1);
    const styles = intervals(d, jobs[0]!).map((x) => x.style);
    expect(styles).toEqual(expect.arrayContaining(['queued', 'running']));
    expect(marks(d, jobs[0]!).some((m) => / done$/.test(m))).toBe(true);
    expect(lanes(d, 'IRQs, timers, RCU').some((l) => /^IRQ \d+/.test(l))).toBe(true);
  });

  test('a fence signalled with an error is shown as an error, by errno name', () => {
    const at = (i: number, type: string, p: Record<string, unknown>) => ({
      type,
      tNs: i,
      step: i,
      tid: 0,
      ...p,
    });
    const events = [
      at(0, 'fence-init', { fence: 1, context: 9, seqno: 1, driver: 'gpu', timeline: 'ring' }),
      at(1, 'fence-signal', {
        fence: 1,
        context: 9,
        seqno: 1,
        error: -62,
        timestampNs: 1,
        callbacks: 0,
      }),
      at(2, 'fence-init', { fence: 2, context: 9, seqno: 2, driver: 'gpu', timeline: 'ring' }),
    ] as unknown as KernelEvent[];
    const d = timelineData(events);
    const iv = intervals(d, 'gpu ring (context 9)');
    expect(iv.map((x) => x.style)).toEqual(['signalled with error', 'never signalled']);
    expect(iv[0]!.label).toBe('fence 9:1 signalled with error -ETIME (-62)');
  });
});
