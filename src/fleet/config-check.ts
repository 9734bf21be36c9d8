/**
 * `POST /v1/configs/validate`: a config (or profile) checked without changing anything, on its own
 * or for the devices it would go to (each with its overrides and what is known about it): whether
 * it resolves to a complete config, the setting warnings, and the traffic estimate.
 */
import { type Static, Type } from '@sinclair/typebox';
import { BadRequestError } from '../api/errors.js';
import type { SettingAdvisor } from '../ingest/advisor.js';
import { assertShorthands } from '../ingest/expand.js';
import { Guidance, type GuidedConfig } from '../ingest/guidance.js';
import type { FieldError } from '../validation.js';
import type { DesiredConfigs } from './desired-config.js';
import { JobConfig } from './jobs/model.js';
import type { JobDevices } from './jobs/repo.js';

export const ValidateRequest = Type.Object(
  {
    config: Type.Optional(JobConfig),
    /** A profile id or name to check instead of `config`. */
    profile: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    /** Check for these devices (with their overrides); at most one of selector / deviceIds. */
    selector: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    deviceIds: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
        minItems: 1,
        maxItems: 20_000,
        uniqueItems: true,
      }),
    ),
    /** Warnings count as failures (`ok: false`), as they would block a strict job. */
    strict: Type.Boolean({ default: false }),
    /** `mobile`: the audience watches on mobile / public Wi-Fi (bitrate far below 1000 kbit/s). */
    audience: Type.Union([Type.Literal('default'), Type.Literal('mobile')], { default: 'default' }),
    /** Duration of the broadcast for the traffic total. */
    hours: Type.Number({ exclusiveMinimum: 0, maximum: 8760, default: 1 }),
  },
  { additionalProperties: false },
);
export type ValidateRequest = Static<typeof ValidateRequest>;

const MAX_LISTED_PROBLEMS = 50;

export const ValidateReply = Type.Object({
  /** Every device's config resolves, and (when strict) there is no warning. */
  ok: Type.Boolean(),
  ...Guidance.properties,
  /** Devices checked (0 for a config on its own). */
  devices: Type.Integer(),
  /** Why configs do not resolve (a missing stream name, …), per device; at most 50 listed. */
  problems: Type.Array(
    Type.Object({ deviceId: Type.Optional(Type.String()), field: Type.String(), reason: Type.String() }),
  ),
  problemCount: Type.Integer(),
});
export type ValidateReply = Static<typeof ValidateReply>;

export class ConfigCheck {
  constructor(
    private readonly deps: {
      readonly devices: JobDevices;
      readonly configs: DesiredConfigs;
      readonly advisor: SettingAdvisor;
    },
  ) {}

  async validate(request: ValidateRequest): Promise<ValidateReply> {
    if (!request.config === !request.profile)
      throw new BadRequestError('give exactly one of config and profile', [
        { field: 'body/config', reason: 'give exactly one of config and profile' },
      ]);
    if (request.selector && request.deviceIds)
      throw new BadRequestError('give at most one of selector and deviceIds', [
        { field: 'body/selector', reason: 'give at most one of selector and deviceIds' },
      ]);
    assertShorthands(request.config, 'body/config');
    const base = request.profile ? (await this.deps.devices.profile(request.profile)).config : request.config;
    const opts = { strict: request.strict, audience: request.audience, hours: request.hours };
    const problems: (FieldError & { deviceId?: string })[] = [];

    if (!request.selector && !request.deviceIds) {
      const resolved = this.deps.configs.resolve(base, undefined);
      if (!resolved.ok) problems.push(...resolved.errors);
      const config = (
        resolved.ok ? resolved.config : this.deps.configs.effective(base, undefined)
      ) as GuidedConfig;
      return this.reply(this.deps.advisor.forConfig(config ?? {}, opts), 0, problems);
    }

    const devices = await this.deps.devices.resolve({
      ...(request.selector ? { selector: request.selector } : {}),
      ...(request.deviceIds ? { deviceIds: request.deviceIds } : {}),
    });
    if (!devices.length)
      throw new BadRequestError('the selector matches no device', [
        { field: 'body/selector', reason: 'matches no device' },
      ]);
    const items = devices.map((d) => {
      const resolved = this.deps.configs.resolve(base, d.overrides);
      if (!resolved.ok) problems.push(...resolved.errors.map((e) => ({ deviceId: d.id, ...e })));
      const config = resolved.ok ? resolved.config : this.deps.configs.effective(base, d.overrides);
      return { deviceId: d.id, config: (config ?? {}) as GuidedConfig };
    });
    return this.reply(this.deps.advisor.forDevices(items, opts), devices.length, problems);
  }

  private reply(guidance: Guidance, devices: number, problems: ValidateReply['problems']): ValidateReply {
    return {
      ok: problems.length === 0 && !(guidance.strict && guidance.warnings.length),
      ...guidance,
      devices,
      problems: problems.slice(0, MAX_LISTED_PROBLEMS),
      problemCount: problems.length,
    };
  }
}
