import { describe, expect, it } from 'vitest';
import { Completion, msleep } from '../../src/kernel/index.ts';
import type { DmaBuf, DmaBufAttachment } from '../../src/buf/index.ts';
import { checkedKernel, rules } from '../resv/helpers.ts';
import { dev, testExporter } from './dmabuf-helpers.ts';

/**
 * dma_buf_release reads `dmabuf->attachments` without the resv lock: only
 * the last reference may. An importer that detaches without holding its
 * own reference races with the final put on another CPU, even when, as
 * here, the detach ran long before the put.
 */
async function detachThenPut(importerHoldsRef: boolean) {
  const k = checkedKernel();
  const attached = new Completion(k, 'attached');
  let dmabuf!: DmaBuf;
  k.kthreadRun('exporter', async () => {
    dmabuf = testExporter(k).dmabuf;
    attached.complete();
    await msleep(k, 10);
    dmabuf.put(); // the exporter's reference
  });
  k.kthreadRun('importer', async () => {
    await attached.waitForCompletion();
    if (importerHoldsRef) dmabuf.get();
    const a = (await dmabuf.attach(dev('importer'))) as DmaBufAttachment;
    await dmabuf.detach(a);
    if (importerHoldsRef) dmabuf.put();
  });
  const r = await k.run();
  expect(r.failure).toBeNull();
  return r;
}

describe('dma_buf_release and the attachment list', () => {
  it('a detach not ordered before the final put is a data race on dmabuf->attachments', async () => {
    const r = await detachThenPut(false);
    expect(rules(r)).toEqual(['kcsan.data_race']);
    const text = r.splats.map((s) => `${s.headline}\n${s.body}`).join('\n');
    expect(text).toContain('dmabuf->attachments');
    expect(text).toContain('dma_buf_release');
  });

  it('an importer holding its own reference until after detach is ordered before release: clean', async () => {
    expect(rules(await detachThenPut(true))).toEqual([]);
  });
});
