/**
 * Label selectors, wherever a set of devices is named (jobs, schedules, lists, API-key scopes,
 * event filters). Requirements are ANDed:
 *   site=berlin   site!=berlin   stage in (a,b)   stage notin (a,b)   rack   !rack
 * `!=` and `notin` also match devices without the label. The key `vendor` matches the device's
 * vendor: `vendor=teradek` matches teradek-vidiu and teradek-prism; `vendor=teradek-prism` only that.
 */

export type Requirement =
  | { readonly key: string; readonly op: 'eq' | 'neq'; readonly values: readonly [string] }
  | { readonly key: string; readonly op: 'in' | 'notin'; readonly values: readonly string[] }
  | { readonly key: string; readonly op: 'exists' | 'absent'; readonly values: readonly [] };

export type Selector = readonly Requirement[];

export class SelectorError extends Error {
  constructor(
    readonly position: number,
    readonly reason: string,
  ) {
    super(`selector: ${reason} at position ${position + 1}`);
  }
}

export const LABEL_PATTERN = /^[A-Za-z0-9._/-]{1,63}$/;
const WORD = /[A-Za-z0-9._/-]/;

/** Parses a selector. An empty or blank string selects every device. */
export function parseSelector(text: string): Selector {
  const requirements: Requirement[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && text[i] === ' ') i++;
  };
  const word = (what: string): string => {
    skipSpace();
    const start = i;
    while (i < text.length && WORD.test(text[i]!)) i++;
    const value = text.slice(start, i);
    if (!value) throw new SelectorError(start, `expected a ${what}`);
    if (value.length > 63) throw new SelectorError(start, `${what} longer than 63 characters`);
    return value;
  };
  const expect = (token: string) => {
    skipSpace();
    if (!text.startsWith(token, i)) throw new SelectorError(i, `expected "${token}"`);
    i += token.length;
  };

  skipSpace();
  if (i === text.length) return requirements;
  for (;;) {
    skipSpace();
    if (text[i] === '!') {
      i++;
      requirements.push({ key: word('label key'), op: 'absent', values: [] });
    } else {
      const key = word('label key');
      skipSpace();
      if (text.startsWith('!=', i)) {
        i += 2;
        requirements.push({ key, op: 'neq', values: [word('value')] });
      } else if (text.startsWith('==', i) || text[i] === '=') {
        i += text.startsWith('==', i) ? 2 : 1;
        requirements.push({ key, op: 'eq', values: [word('value')] });
      } else if (/^(in|notin)\s*\(/.test(text.slice(i))) {
        const op = text.startsWith('notin', i) ? 'notin' : 'in';
        i += op.length;
        expect('(');
        const values = [word('value')];
        for (skipSpace(); text[i] === ','; skipSpace()) {
          i++;
          values.push(word('value'));
        }
        expect(')');
        requirements.push({ key, op, values });
      } else {
        requirements.push({ key, op: 'exists', values: [] });
      }
    }
    skipSpace();
    if (i === text.length) return requirements;
    if (text[i] !== ',') throw new SelectorError(i, `unexpected "${text[i]}"`);
    i++;
  }
}

/** Whether `vendorId` belongs to the vendor name given in a selector. */
export function vendorMatches(vendorId: string, name: string): boolean {
  return vendorId === name || vendorId.startsWith(`${name}-`);
}

export interface Labelled {
  readonly vendor: string;
  readonly labels: Readonly<Record<string, string>>;
}

export function matches(selector: Selector, device: Labelled): boolean {
  return selector.every((r) => matchesRequirement(r, device));
}

function matchesRequirement(r: Requirement, device: Labelled): boolean {
  if (r.key === 'vendor') {
    const hit = r.values.some((v) => vendorMatches(device.vendor, v));
    switch (r.op) {
      case 'eq':
      case 'in':
        return hit;
      case 'neq':
      case 'notin':
        return !hit;
      case 'exists':
        return true;
      case 'absent':
        return false;
    }
  }
  const value = Object.hasOwn(device.labels, r.key) ? device.labels[r.key] : undefined;
  switch (r.op) {
    case 'eq':
    case 'in':
      return value !== undefined && r.values.includes(value);
    case 'neq':
    case 'notin':
      return value === undefined || !r.values.includes(value);
    case 'exists':
      return value !== undefined;
    case 'absent':
      return value === undefined;
  }
}

/** Canonical text of a parsed selector (for display and comparison). */
export function formatSelector(selector: Selector): string {
  return selector.map(formatRequirement).join(',');
}

function formatRequirement(r: Requirement): string {
  switch (r.op) {
    case 'eq':
      return `${r.key}=${r.values[0]}`;
    case 'neq':
      return `${r.key}!=${r.values[0]}`;
    case 'in':
    case 'notin':
      return `${r.key} ${r.op} (${r.values.join(',')})`;
    case 'exists':
      return r.key;
    case 'absent':
      return `!${r.key}`;
  }
}
