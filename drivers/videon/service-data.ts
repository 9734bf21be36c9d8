/**
 * Videon RTMP destinations travel as a dictionary encoded *inside a string*:
 * `output_type.rtmp.service.data`. The vendor's own sample (`custom-ui/app.py`) writes it with
 * Python-style single quotes (`"{'url': 'rtmp://…/KEY'}"`) and the device stores and returns it as
 * written; the cloud sample writes proper JSON (`"{\"url\": \"…\"}"`). [DOC-sample]
 *
 * We read both forms and always write proper JSON.
 */

export type ServiceData = Record<string, unknown>;

/** Parses either form; `''` is an unconfigured slot (no keys). Undefined when it is neither form. */
export function parseServiceData(text: string): ServiceData | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return {};
  try {
    const value: unknown = JSON.parse(trimmed);
    return isPlainObject(value) ? value : undefined;
  } catch {
    return parsePythonDict(trimmed);
  }
}

/** Always proper JSON, whatever form the device held before. */
export function encodeServiceData(data: ServiceData): string {
  return JSON.stringify(data);
}

function isPlainObject(value: unknown): value is ServiceData {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', '0': '\0' };
const LITERALS: Readonly<Record<string, unknown>> = { True: true, False: false, None: null };

/**
 * A flat Python dict literal of strings, numbers, True/False/None, as `str(dict)` prints it.
 * Nested containers are not expected in service data and are refused (undefined).
 */
function parsePythonDict(text: string): ServiceData | undefined {
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const readString = (): string | undefined => {
    const quote = text[i];
    if (quote !== "'" && quote !== '"') return undefined;
    i++;
    let out = '';
    while (i < text.length) {
      const c = text[i++]!;
      if (c === quote) return out;
      if (c === '\\' && i < text.length) {
        const next = text[i++]!;
        out += ESCAPES[next] ?? next;
      } else out += c;
    }
    return undefined; // unterminated
  };
  const readValue = (): { value: unknown } | undefined => {
    const s = readString();
    if (s !== undefined) return { value: s };
    const match = /^(True|False|None|-?\d+(?:\.\d+)?)/.exec(text.slice(i));
    if (!match) return undefined;
    i += match[0].length;
    const word = match[0];
    return { value: word in LITERALS ? LITERALS[word] : Number(word) };
  };

  skipSpace();
  if (text[i++] !== '{') return undefined;
  const out: ServiceData = {};
  skipSpace();
  if (text[i] === '}') return i + 1 === text.length ? out : undefined;
  for (;;) {
    skipSpace();
    const key = readString();
    if (key === undefined) return undefined;
    skipSpace();
    if (text[i++] !== ':') return undefined;
    skipSpace();
    const parsed = readValue();
    if (!parsed) return undefined;
    out[key] = parsed.value;
    skipSpace();
    const sep = text[i++];
    if (sep === '}') {
      skipSpace();
      return i === text.length ? out : undefined;
    }
    if (sep !== ',') return undefined;
  }
}
