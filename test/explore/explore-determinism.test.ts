/**
 * Determinism of explorations: the same exploration twice, with 1 and 2
 * worker threads, and split into 2 shards then merged, gives the same
 * result file byte for byte. And `mergeShards` validates its inputs.
 */
import { describe, expect, test } from 'vitest';
import { explore, exploreShard, mergeShards, resultJson, RESULT_VERSION } from '../../src/explore/index.ts';
import type { ExploreOptions } from '../../src/explore/index.ts';
import unbindOpen from './fixtures/unbind-open-race.ts';
import abbaHalves from './fixtures/abba-halves.ts';

const REF = './test/explore/fixtures/unbind-open-race.ts';

async function merged(options: ExploreOptions, scenario = unbindOpen): Promise<string> {
  const shards = await Promise.all([0, 1].map((index) => exploreShard(scenario, { index, count: 2 }, options)));
  // Any order, as files: through JSON like `merge` reads them.
  return resultJson(mergeShards(shards.reverse().map((s, i) => ({ name: `shard${i}.json`, data: JSON.parse(resultJson(s)) as unknown }))));
}

describe('the same exploration gives the same result file', () => {
  const cases: [string, ExploreOptions][] = [
    ['random, every bug', { strategy: 'random', schedules: 200, until: 'all', ref: REF }],
    ['pct, first bug', { strategy: 'pct', schedules: 200, ref: REF }],
    ['dfs exhausted', { strategy: 'dfs', until: 'all', ref: REF }],
    ['dfs cut by the schedule budget', { strategy: 'dfs', until: 'all', schedules: 5, preemptions: null, ref: REF }],
  ];
  for (const [what, options] of cases) {
    test(`${what}: twice, 1 vs 2 workers, 2 shards merged`, async () => {
      const once = resultJson(await explore(unbindOpen, options));
      expect(resultJson(await explore(unbindOpen, options))).toBe(once);
      expect(resultJson(await explore(unbindOpen, { ...options, workers: 2 }))).toBe(once);
      expect(await merged(options)).toBe(once);
    }, 60_000);
  }

  test('the accumulated graph too: a cycle across schedules is found the same way when split', async () => {
    const options: ExploreOptions = { strategy: 'dfs', until: 'all', ref: './test/explore/fixtures/abba-halves.ts' };
    const once = resultJson(await explore(abbaHalves, options));
    expect(JSON.parse(once)).toMatchObject({ bugs: [{ acrossSchedules: [0, 1] }] });
    expect(await merged(options, abbaHalves)).toBe(once);
  });

  test('the result file validates against its schema and carries no wall-clock field', async () => {
    const r = await explore(unbindOpen, { strategy: 'dfs', until: 'all', ref: REF });
    expect(r).toMatchObject({ format: 'dmabuf-lab-explore-result', version: RESULT_VERSION });
    expect(resultJson(r)).not.toMatch(/"(wall|elapsed|duration|time)(Ms|S)?"/i);
  });
});

describe('mergeShards checks its inputs', () => {
  test('a missing shard, a duplicate, another exploration, another version, not a shard file', async () => {
    const options: ExploreOptions = { strategy: 'random', schedules: 130, until: 'all', ref: REF };
    const s0 = JSON.parse(resultJson(await exploreShard(unbindOpen, { index: 0, count: 2 }, options))) as Record<string, unknown>;
    const s1 = JSON.parse(resultJson(await exploreShard(unbindOpen, { index: 1, count: 2 }, options))) as Record<string, unknown>;
    const other = JSON.parse(resultJson(await exploreShard(unbindOpen, { index: 1, count: 2 }, { ...options, seed: 2 }))) as Record<string, unknown>;
    expect(() => mergeShards([{ name: 'a.json', data: s0 }])).toThrow(/shard 1\/2 missing/);
    expect(() => mergeShards([{ name: 'a.json', data: s0 }, { name: 'b.json', data: s0 }])).toThrow(/both shard 0\/2/);
    expect(() => mergeShards([{ name: 'a.json', data: s0 }, { name: 'b.json', data: other }])).toThrow(/different exploration/);
    expect(() => mergeShards([{ name: 'a.json', data: { ...s0, version: 99 } }, { name: 'b.json', data: s1 }])).toThrow(/version 99/);
    expect(() => mergeShards([{ name: 'a.json', data: { hello: 1 } }])).toThrow(/a.json is not a shard file/);
    expect(() => mergeShards([])).toThrow(/give the shard files/);
    expect(mergeShards([{ name: 'b.json', data: s1 }, { name: 'a.json', data: s0 }]).schedules).toBe(130);
  });
});
