import { runInNewContext } from 'node:vm';
import { describe, expect, test } from 'vitest';
import { loadScenario, runScenario } from '../../src/explore/index.ts';
import { toChromeTrace, toHtmlReport } from '../../src/trace/index.ts';
import type { HtmlReportInput } from '../../src/trace/index.ts';

async function report(): Promise<{ html: string; input: HtmlReportInput }> {
  const { scenario } = await loadScenario('mutex-abba');
  const run = await runScenario(scenario, { seed: 2, trace: true });
  const input: HtmlReportInput = {
    title: 'mutex-abba <seed 2>',
    summary: [['result', run.result.end]],
    splats: run.result.splats,
    trace: toChromeTrace(run.events!, { splats: run.result.splats }),
    decisions: run.result.schedule.decisions,
    replay: 'dmabuf-lab run mutex-abba --seed 2',
  };
  return { html: toHtmlReport(input), input };
}

/** Runs the report's timeline script against a minimal DOM; returns the SVG shapes it drew. */
function drawTimeline(html: string): { tag: string; attrs: Record<string, string> }[] {
  const data = /<script type="application\/json" id="trace-data">([\s\S]*?)<\/script>/.exec(
    html,
  )![1]!;
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
  const drawn: { tag: string; attrs: Record<string, string> }[] = [];
  const node = (tag: string) => ({
    tag,
    attrs: {} as Record<string, string>,
    textContent: '',
    setAttribute(k: string, v: unknown) {
      this.attrs[k] = String(v);
    },
    appendChild(c: { tag: string; attrs: Record<string, string> }) {
      if (c.tag !== 'title') drawn.push(c);
    },
  });
  const document = {
    getElementById: (id: string) => (id === 'trace-data' ? { textContent: data } : node('div')),
    createElementNS: (_ns: string, tag: string) => node(tag),
  };
  runInNewContext(script, { document });
  return drawn;
}

describe('HTML report', () => {
  test('is one self-contained document with the summary, splat bodies, schedule and replay command', async () => {
    const { html, input } = await report();
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)=/);
    expect(html).toContain('mutex-abba &lt;seed 2&gt;');
    expect(html).toContain('sched.deadlock');
    expect(html).toContain('thread_ab blocked in mutex_lock');
    expect(html).toContain('dmabuf-lab run mutex-abba --seed 2');
    expect(html).toContain(`Schedule (${input.decisions.length} decisions)`);
  });

  test('its timeline script draws a lane per thread, slices and the splats', async () => {
    const { html } = await report();
    const drawn = drawTimeline(html);
    const labels = drawn.filter((d) => d.tag === 'text');
    expect(labels.length).toBeGreaterThanOrEqual(3);
    expect(drawn.filter((d) => d.tag === 'rect').length).toBeGreaterThan(4);
    expect(drawn.some((d) => d.tag === 'line' && d.attrs.stroke === '#d93025')).toBe(true);
  });

  test('embedded data cannot close its script element', () => {
    const html = toHtmlReport({
      title: 't',
      summary: [],
      splats: [],
      trace: {
        traceEvents: [{ name: '</script><b>', ph: 'M', pid: 1, tid: 1 }],
        displayTimeUnit: 'ns',
        otherData: {},
      },
      decisions: [],
      replay: 'r',
    });
    expect(html.match(/<\/script>/g)).toHaveLength(2);
  });
});
