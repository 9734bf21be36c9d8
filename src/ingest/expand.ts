/**
 * Expands every `nanostream` shorthand in a merged config (the main target and each rendition's)
 * into its concrete target, so what follows (validation, drivers, diffs) sees concrete targets only.
 */
import type { Target } from '../../drivers/contract.js';
import { BadRequestError } from '../api/errors.js';
import { describeErrors, type FieldError } from '../validation.js';
import {
  expandNanoStream,
  type NanoStreamHosts,
  type NanoStreamTarget,
  shorthandProblems,
  type TargetProblem,
} from './nanostream-target.js';

type Fields = Record<string, unknown>;

export interface Expanded {
  /** The config with concrete targets where the shorthand expanded; untouched elsewhere. */
  readonly config: Fields;
  /** Config paths, e.g. `target.streamName` or `renditions.0.target.streamName`. */
  readonly problems: readonly TargetProblem[];
}

export function expandTargets(config: Fields, hosts: NanoStreamHosts): Expanded {
  const problems: TargetProblem[] = [];
  const expand = (target: unknown, path: string): unknown => {
    if (!isShorthand(target)) return target;
    const found = shorthandProblems(target);
    if (found.length) {
      problems.push(...found.map((p) => ({ field: `${path}.${p.field}`, reason: p.reason })));
      return target;
    }
    return expandNanoStream(target, hosts) satisfies Target;
  };
  const out: Fields = { ...config };
  if (config.target) out.target = expand(config.target, 'target');
  if (Array.isArray(config.renditions)) {
    out.renditions = config.renditions.map((r: Fields, i: number) =>
      r.target ? { ...r, target: expand(r.target, `renditions.${i}.target`) } : r,
    );
  }
  return { config: out, problems };
}

/**
 * Problems of the shorthands a request gives in full (with a stream name), so a bad name is refused
 * with a 400 before anything is stored. Shorthands without a name wait for the device's overrides.
 */
export function givenShorthandProblems(config: Fields | undefined): TargetProblem[] {
  if (!config) return [];
  const problems: TargetProblem[] = [];
  const check = (target: unknown, path: string) => {
    if (isShorthand(target) && target.streamName !== undefined)
      problems.push(
        ...shorthandProblems(target).map((p) => ({ field: `${path}.${p.field}`, reason: p.reason })),
      );
  };
  check(config.target, 'target');
  if (Array.isArray(config.renditions))
    config.renditions.forEach((r: Fields, i: number) => {
      const own = r.target as Fields | undefined;
      // A rendition's target is merged over the main one; check the names it gives itself.
      if (own?.streamName === undefined) return;
      check(
        own.protocol === undefined ? { ...(config.target as Fields), ...own } : own,
        `renditions.${i}.target`,
      );
    });
  return problems;
}

/** `givenShorthandProblems` as request field errors under `prefix`, e.g. `body/config`. */
export function shorthandFieldErrors(config: Fields | undefined, prefix: string): FieldError[] {
  return givenShorthandProblems(config).map((p) => ({
    field: `${prefix}/${p.field.replaceAll('.', '/')}`,
    reason: p.reason,
  }));
}

/** @throws BadRequestError naming each field whose stream name cannot work */
export function assertShorthands(config: Fields | undefined, prefix: string): void {
  const details = shorthandFieldErrors(config, prefix);
  if (details.length) throw new BadRequestError(describeErrors(details), details);
}

function isShorthand(target: unknown): target is Partial<NanoStreamTarget> {
  return !!target && typeof target === 'object' && (target as Fields).protocol === 'nanostream';
}
