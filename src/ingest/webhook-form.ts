/**
 * nanoStream Cloud's custom ingest webhook, as it arrives: a form-urlencoded POST on `publish`,
 * `update_publish` and `publish_done`, with the stream name in `name`. Only `call` and `name` are
 * needed; the other documented fields are checked for shape when present, and fields not listed
 * here are allowed (the ingest may add some).
 */
import { type Static, Type } from '@sinclair/typebox';
import { STREAM_NAME_PATTERN } from './nanostream-target.js';

const Counter = Type.String({ pattern: '^[0-9]{1,20}$', description: 'A decimal number.' });
const Text = (maxLength: number) => Type.String({ maxLength });

export const WebhookForm = Type.Object(
  {
    call: Type.Union([Type.Literal('publish'), Type.Literal('update_publish'), Type.Literal('publish_done')]),
    name: Type.String({
      minLength: 1,
      maxLength: 512,
      pattern: STREAM_NAME_PATTERN,
      description: 'The stream name.',
    }),
    app: Type.Optional(Text(256)),
    addr: Type.Optional(Text(256)),
    clientid: Type.Optional(Text(128)),
    bytes_in: Type.Optional(Counter),
    bytes_out: Type.Optional(Counter),
    time: Type.Optional(Counter),
    timestamp: Type.Optional(Text(64)),
  },
  { additionalProperties: true, title: 'NanoStreamWebhook' },
);
export type WebhookForm = Static<typeof WebhookForm>;

/** Largest form accepted: the documented fields take a few hundred bytes. */
export const WEBHOOK_BODY_LIMIT = 16 * 1024;

export class FormError extends Error {}

/**
 * Parses a form-urlencoded body into fields. A field given twice is refused rather than guessed.
 * @throws FormError
 */
export function parseForm(text: string): Record<string, string> {
  const fields: Record<string, string> = Object.create(null);
  for (const [key, value] of new URLSearchParams(text)) {
    if (key in fields) throw new FormError(`field ${JSON.stringify(key)} is given more than once`);
    fields[key] = value;
  }
  return fields;
}
