/**
 * Selectors are evaluated in two places: in SQL (lists, jobs) and in memory (event filters, key
 * scopes). Random selectors over random fleets must select the same devices in both, on both
 * backends.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VENDOR_IDS } from '../../drivers/contract.js';
import {
  formatSelector,
  matches,
  parseSelector,
  type Requirement,
  SelectorError,
} from '../../src/fleet/selector.js';
import type { DeviceRecord } from '../../src/store/devices.js';
import { BACKENDS, openTestStore, type TestStore } from '../helpers/store.js';

const KEYS = ['site', 'env', 'stage', 'rack'];
const VALUES = ['a', 'b', 'c', 'berlin'];
const VENDOR_NAMES = ['teradek', 'videon', 'osprey', ...VENDOR_IDS];

const requirement: fc.Arbitrary<Requirement> = fc.oneof(
  fc.record({
    key: fc.constantFrom(...KEYS),
    op: fc.constantFrom('eq' as const, 'neq' as const),
    values: fc.tuple(fc.constantFrom(...VALUES)),
  }),
  fc.record({
    key: fc.constantFrom(...KEYS),
    op: fc.constantFrom('in' as const, 'notin' as const),
    values: fc.uniqueArray(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    key: fc.constantFrom(...KEYS),
    op: fc.constantFrom('exists' as const, 'absent' as const),
    values: fc.constant([] as []),
  }),
  fc.record({
    key: fc.constant('vendor'),
    op: fc.constantFrom('eq' as const, 'neq' as const),
    values: fc.tuple(fc.constantFrom(...VENDOR_NAMES)),
  }),
  fc.record({
    key: fc.constant('vendor'),
    op: fc.constantFrom('in' as const, 'notin' as const),
    values: fc.uniqueArray(fc.constantFrom(...VENDOR_NAMES), { minLength: 1, maxLength: 2 }),
  }),
) as fc.Arbitrary<Requirement>;

describe('selector text', () => {
  it('parse(format(ast)) returns the AST', () => {
    fc.assert(
      fc.property(fc.array(requirement, { maxLength: 4 }), (ast) => {
        expect(parseSelector(formatSelector(ast))).toEqual(ast);
      }),
    );
  });

  it.each([
    ['site=', 6],
    ['site=berlin env=prod', 13],
    ['stage in (a b)', 13],
    ['!', 2],
    ['site=bär', 7],
  ])('%j is refused, naming position %i', (text, position) => {
    const err = (() => {
      try {
        parseSelector(text);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SelectorError);
    expect((err as SelectorError).position + 1).toBe(position);
  });
});

describe.each(BACKENDS)('selector SQL = in-memory on %s', (backend) => {
  let t: TestStore;
  let devices: DeviceRecord[];

  beforeAll(async () => {
    t = await openTestStore(backend);
    const rnd = fc.sample(
      fc.record({
        vendor: fc.constantFrom(...VENDOR_IDS),
        labels: fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), { maxKeys: 4 }),
      }),
      { numRuns: 120, seed: 4242 },
    );
    devices = await t.store.devices.insertMany(
      rnd.map((d, i) => ({
        name: `d${i}`,
        vendor: d.vendor,
        host: `10.9.0.${i + 1}`,
        port: 80,
        labels: d.labels,
      })),
    );
  });
  afterAll(() => t.dispose());

  it('random selectors select the same devices', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(requirement, { minLength: 1, maxLength: 3 }), async (selector) => {
        const fromSql = (await t.store.devices.resolve({ selector })).map((d) => d.id).sort();
        const inMemory = devices
          .filter((d) => matches(selector, d))
          .map((d) => d.id)
          .sort();
        expect(fromSql).toEqual(inMemory);
      }),
      { numRuns: 150, seed: 7 },
    );
  });
});
