/**
 * One way to validate input, used for API requests, environment variables and import rows, so the
 * same schema gives the same clear message everywhere: the field, and the reason.
 */
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { StringFormats } from '../drivers/contract.js';

export interface FieldError {
  /** Where, e.g. `body/target/port` or `PORT` or `row 7/host`. */
  readonly field: string;
  /** Why, e.g. `must be <= 65535`. */
  readonly reason: string;
}

/**
 * Strict validators: no silent stripping of unknown properties, every error reported, defaults
 * filled in. `coerce` is for text inputs (query strings, env vars, CSV cells), never JSON bodies,
 * so a JSON body with `"port": "5000"` is an error rather than a guess.
 */
export function createAjv(opts: { coerce: boolean }): Ajv {
  const options: Options = {
    allErrors: true,
    removeAdditional: false,
    useDefaults: true,
    coerceTypes: opts.coerce ? 'array' : false,
    // Tagged unions (target protocol): pick the branch by its tag, fill in its defaults.
    discriminator: true,
    // Errors carry their schema, so a bad tag can be answered with the allowed values.
    verbose: true,
    strict: false,
  };
  const ajv = new Ajv(options);
  addFormats.default(ajv);
  for (const [name, pattern] of Object.entries(StringFormats)) ajv.addFormat(name, pattern);
  return ajv;
}

/** Formats Ajv errors as field + reason, collapsing union noise to the branch the input meant. */
export function formatErrors(errors: readonly ErrorObject[], prefix: string): FieldError[] {
  const result: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of collapseUnions(errors)) {
    let path = e.instancePath;
    let reason = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      path += `/${(e.params as { missingProperty: string }).missingProperty}`;
      reason = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      path += `/${(e.params as { additionalProperty: string }).additionalProperty}`;
      const keyPatterns = Object.keys(
        (e.parentSchema as { patternProperties?: object })?.patternProperties ?? {},
      );
      reason = keyPatterns.length
        ? `is not a valid key (must match ${keyPatterns.join(' or ')})`
        : 'is not a known field';
    } else if (e.keyword === 'discriminator') {
      const p = e.params as { tag: string; error: string };
      path += `/${p.tag}`;
      const allowed = (
        (e.parentSchema as { oneOf?: { properties?: Record<string, { const?: unknown }> }[] })?.oneOf ?? []
      )
        .map((branch) => branch.properties?.[p.tag]?.const)
        .filter((v) => v !== undefined);
      reason =
        p.error === 'tag'
          ? 'is required'
          : `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'dependencies') {
      const p = e.params as { property: string; missingProperty: string };
      path += `/${p.missingProperty}`;
      reason = `is required when ${p.property} is given`;
    }
    const field = prefix + path.replace(/~1/g, '/').replace(/~0/g, '~');
    const key = `${field}\u0000${reason}`;
    if (!seen.has(key)) {
      seen.add(key);
      result.push({ field, reason });
    }
  }
  return result;
}

/** `field reason; field reason`, for one-line messages. */
export function describeErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field} ${e.reason}`).join('; ');
}

/**
 * Ajv reports every branch of a failed `anyOf`. People mean one branch: for a tagged union
 * (`protocol: 'srt'`) keep only the errors of the branch whose tag matched; for a union of literals,
 * say which values are allowed.
 */
function collapseUnions(errors: readonly ErrorObject[]): ErrorObject[] {
  const unions = new Map<string, { path: string; errors: ErrorObject[] }>();
  const plain: ErrorObject[] = [];
  for (const e of errors) {
    const at = e.schemaPath.indexOf('/anyOf');
    if (at < 0) {
      plain.push(e);
      continue;
    }
    const key = e.schemaPath.slice(0, at);
    const group = unions.get(key) ?? { path: '', errors: [] };
    if (e.keyword === 'anyOf') group.path = e.instancePath;
    else group.errors.push(e);
    unions.set(key, group);
  }
  const out = [...plain];
  for (const [key, group] of unions) {
    const branchOf = (e: ErrorObject) => Number(e.schemaPath.slice(key.length).split('/')[2]);
    const literalErrors = group.errors.filter((e) => e.keyword === 'const' && e.instancePath === group.path);
    if (literalErrors.length && literalErrors.length === new Set(group.errors.map(branchOf)).size) {
      const allowed = literalErrors.map((e) =>
        JSON.stringify((e.params as { allowedValue: unknown }).allowedValue),
      );
      out.push({ ...literalErrors[0]!, keyword: 'enum', message: `must be one of ${allowed.join(', ')}` });
      continue;
    }
    // A branch whose tag field failed `const` is not the branch the input meant.
    const tagErrors = group.errors.filter(
      (e) =>
        e.keyword === 'const' &&
        e.instancePath.startsWith(`${group.path}/`) &&
        !e.instancePath.slice(group.path.length + 1).includes('/'),
    );
    const rejected = new Set(tagErrors.map(branchOf));
    const meant = group.errors.filter((e) => !rejected.has(branchOf(e)));
    if (meant.length)
      out.push(...collapseUnions(meant.map((e) => ({ ...e, schemaPath: stripBranch(e.schemaPath, key) }))));
    else if (tagErrors.length) {
      const tag = tagErrors[0]!;
      const allowed = tagErrors.map((e) =>
        JSON.stringify((e.params as { allowedValue: unknown }).allowedValue),
      );
      out.push({ ...tag, keyword: 'enum', message: `must be one of ${[...new Set(allowed)].join(', ')}` });
    } else {
      out.push({
        ...group.errors[0]!,
        instancePath: group.path,
        message: 'does not match any allowed shape',
      });
    }
  }
  return out;
}

/** Removes the `/anyOf/<n>` step at `key` so nested unions inside the chosen branch collapse too. */
function stripBranch(schemaPath: string, key: string): string {
  const rest = schemaPath.slice(key.length).split('/').slice(3).join('/');
  return `${key}/branch/${rest}`;
}

/** Compiles once; returns the value (with defaults applied) or the field errors. */
export function compileValidator<T>(ajv: Ajv, schema: object, prefix: string) {
  const validate: ValidateFunction = ajv.compile(schema);
  return (value: unknown): { ok: true; value: T } | { ok: false; errors: FieldError[] } =>
    validate(value)
      ? { ok: true, value: value as T }
      : { ok: false, errors: formatErrors(validate.errors ?? [], prefix) };
}
