/**
 * The one way a device's desired config is computed from what is stored: base ⊕ overrides
 * (effective-config.ts), nanoStream shorthands expanded to concrete targets (src/ingest), then
 * validated as the complete EncoderConfig a driver gets. The engine, the monitor and the API views
 * all go through here, so they agree on what a device should be.
 */
import { EncoderConfig, type Target } from '../../drivers/contract.js';
import { bodyValidator } from '../api/server.js';
import { expandTargets } from '../ingest/expand.js';
import type { NanoStreamHosts } from '../ingest/nanostream-target.js';
import type { FieldError } from '../validation.js';
import { effectiveConfig } from './effective-config.js';
import type { JobConfig } from './jobs/model.js';

export type Resolved = { ok: true; config: EncoderConfig } | { ok: false; errors: FieldError[] };

const validateConfig = bodyValidator<EncoderConfig>(EncoderConfig, 'config');

export class DesiredConfigs {
  constructor(readonly hosts: NanoStreamHosts) {}

  /** base ⊕ overrides with shorthands expanded where they can be; possibly incomplete (for display). */
  effective(base: JobConfig | undefined, overrides: unknown): Record<string, unknown> | undefined {
    const merged = effectiveConfig(base, overrides);
    return merged && expandTargets(merged, this.hosts).config;
  }

  /** The complete config a driver gets, or every reason it cannot be built. */
  resolve(base: JobConfig | undefined, overrides: unknown): Resolved {
    const merged = effectiveConfig(base, overrides) ?? {};
    const expanded = expandTargets(merged, this.hosts);
    if (expanded.problems.length)
      return {
        ok: false,
        errors: expanded.problems.map((p) => ({
          field: `config/${p.field.replaceAll('.', '/')}`,
          reason: p.reason,
        })),
      };
    const checked = validateConfig(expanded.config);
    if (!checked.ok) return checked;
    const clash = sameStreamProblems(checked.value);
    return clash.length ? { ok: false, errors: clash } : { ok: true, config: checked.value };
  }
}

/**
 * Each rendition is a stream of its own: two outputs sending to the same stream would fight over it
 * at the ingest.
 */
function sameStreamProblems(config: EncoderConfig): FieldError[] {
  const seen = new Map<string, string>([[streamOf(config.target), 'the main stream']]);
  const errors: FieldError[] = [];
  config.renditions?.forEach((r, i) => {
    const key = streamOf(r.target);
    const earlier = seen.get(key);
    if (earlier)
      errors.push({
        field: `config/renditions/${i}/target`,
        reason: `sends to the same stream as ${earlier}; give each rendition its own stream name or key`,
      });
    else seen.set(key, `rendition ${i}`);
  });
  return errors;
}

function streamOf(target: Target): string {
  switch (target.protocol) {
    case 'rtmp':
      return `rtmp ${target.url.replace(/\/+$/, '')} ${target.streamKey}`;
    case 'srt':
      return `srt ${target.host}:${target.port} ${target.streamId ?? ''}`;
    case 'whip':
      return `whip ${target.url} ${target.bearerToken ?? ''}`;
  }
}
