/** /v1/configs: check a config against the ingest's recommendations without changing anything. */
import { type ConfigCheck, ValidateReply, ValidateRequest } from '../../fleet/config-check.js';
import { EXAMPLE_VALIDATE, withExamples } from '../examples.js';
import type { Api } from '../server.js';
import { errors } from './common.js';

export function configRoutes(app: Api, check: ConfigCheck): void {
  app.post(
    '/v1/configs/validate',
    {
      config: { permission: 'fleet:read' },
      schema: {
        operationId: 'validateConfig',
        summary: 'Check a config (or profile) for devices: completeness, setting warnings, traffic estimate',
        description:
          "Nothing is changed. Warnings follow nanoStream Cloud's encoder recommendations (frame rate, keyframe interval, bitrate for the resolution, standard resolutions, upscaling, resolution change while streaming, H.265/SRT on request), each with the field and the recommended value. The traffic estimate is `kbit/s × 3600 / 8` per hour across all devices. `strict: true` makes any warning `ok: false`, as it would block a strict job.",
        tags: ['configs'],
        body: withExamples(ValidateRequest, EXAMPLE_VALIDATE),
        response: { 200: ValidateReply, ...errors(400, 422) },
      },
    },
    async (request) => check.validate(request.body),
  );
}
