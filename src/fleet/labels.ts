/**
 * Device labels: free key/value tags that selectors match on (`site=berlin,env!=staging`).
 * Keys and values share one small alphabet so a selector never needs quoting.
 */

export type Labels = Readonly<Record<string, string>>;

/** Characters allowed in label keys and values; 1 to 63 of them. */
export const LABEL_TOKEN_PATTERN = '^[A-Za-z0-9._/-]{1,63}$';
const LABEL_TOKEN = new RegExp(LABEL_TOKEN_PATTERN);
export const MAX_LABELS_PER_DEVICE = 64;

/**
 * `vendor` is answered from the device's vendor column (see selector.ts), so it cannot also be a
 * label: a device could otherwise carry two different answers to `vendor=…`.
 */
export const RESERVED_LABEL_KEYS: readonly string[] = ['vendor'];

export function isLabelToken(value: string): boolean {
  return LABEL_TOKEN.test(value);
}

export interface LabelProblem {
  readonly key: string;
  readonly reason: string;
}

/** Everything wrong with a label set; empty when it is valid. */
export function checkLabels(labels: Labels): LabelProblem[] {
  const problems: LabelProblem[] = [];
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS_PER_DEVICE)
    problems.push({ key: '*', reason: `at most ${MAX_LABELS_PER_DEVICE} labels per device` });
  for (const [key, value] of entries) {
    if (!isLabelToken(key))
      problems.push({ key, reason: 'key must be 1-63 characters of A-Z a-z 0-9 . _ / -' });
    else if (RESERVED_LABEL_KEYS.includes(key))
      problems.push({ key, reason: `"${key}" is reserved: it matches the device's vendor` });
    if (typeof value !== 'string' || !isLabelToken(value))
      problems.push({ key, reason: 'value must be 1-63 characters of A-Z a-z 0-9 . _ / -' });
  }
  return problems;
}

/**
 * Parses the import form `k=v;k2=v2`. An empty string is the empty set.
 * @example parseLabelList('site=berlin;env=prod') → { labels: { site: 'berlin', env: 'prod' }, problems: [] }
 */
export function parseLabelList(text: string): { labels: Record<string, string>; problems: LabelProblem[] } {
  // A Map, not assignment into an object: `__proto__` is a legal key and must stay an own property.
  const labels = new Map<string, string>();
  const problems: LabelProblem[] = [];
  for (const part of text.split(';')) {
    const pair = part.trim();
    if (!pair) continue;
    const eq = pair.indexOf('=');
    if (eq < 0) {
      problems.push({ key: pair, reason: `"${pair}" is not key=value` });
      continue;
    }
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (labels.has(key)) problems.push({ key, reason: `label "${key}" given twice` });
    labels.set(key, value);
  }
  const result = Object.fromEntries(labels);
  return { labels: result, problems: [...problems, ...checkLabels(result)] };
}

/** The inverse of parseLabelList, keys sorted so exports diff cleanly. */
export function formatLabelList(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(';');
}
