import { describe, expect, it } from 'vitest';
import { normaliseHost } from '../../src/fleet/host.js';
import { checkLabels, formatLabelList, parseLabelList } from '../../src/fleet/labels.js';

describe('parseLabelList() / formatLabelList()', () => {
  it('parses k=v;k2=v2 with blanks and empty parts tolerated', () => {
    expect(parseLabelList(' site=berlin ;; env=prod;')).toEqual({
      labels: { site: 'berlin', env: 'prod' },
      problems: [],
    });
    expect(parseLabelList('')).toEqual({ labels: {}, problems: [] });
  });

  it('reports pairs without =, repeated keys, bad characters and the reserved key vendor', () => {
    const { problems } = parseLabelList('site;a=1;a=2;b=x y;vendor=teradek;c=');
    expect(problems.map((p) => p.key)).toEqual(['site', 'a', 'b', 'vendor', 'c']);
  });

  it('keeps __proto__ as an ordinary own key', () => {
    const { labels } = parseLabelList('__proto__=x');
    expect(Object.keys(labels)).toEqual(['__proto__']);
    expect(checkLabels(labels)).toEqual([]);
  });

  it('formats sorted by key, inverse of parse', () => {
    expect(formatLabelList({ z: '1', a: '2' })).toBe('a=2;z=1');
    expect(parseLabelList(formatLabelList({ z: '1', a: '2' })).labels).toEqual({ a: '2', z: '1' });
  });

  it('limits keys and values to 63 characters', () => {
    expect(checkLabels({ ['k'.repeat(63)]: 'v'.repeat(63) })).toEqual([]);
    expect(checkLabels({ ['k'.repeat(64)]: 'v' })).toHaveLength(1);
    expect(checkLabels({ k: 'v'.repeat(64) })).toHaveLength(1);
  });
});

describe('normaliseHost()', () => {
  it('lowercases names, trims, and drops IPv6 brackets', () => {
    expect(normaliseHost(' Encoder-1.LOCAL ')).toBe('encoder-1.local');
    expect(normaliseHost('[FE80::1]')).toBe('fe80::1');
    expect(normaliseHost('10.0.0.1')).toBe('10.0.0.1');
    expect(normaliseHost('[not-ipv6]')).toBe('[not-ipv6]');
  });
});
