/**
 * Logging. The service logs ids, counts and error messages, never configs or credentials; redaction
 * is the second line of defence for a secret that reaches a log object anyway.
 */
import pino, { type Logger, type LoggerOptions } from 'pino';

/** Field names whose values are secrets wherever they appear in a logged object. */
const SECRET_KEYS = [
  'password',
  'streamKey',
  'passphrase',
  'bearerToken',
  'streamId',
  'streamName',
  'token',
  'apiKey',
  'secret',
  'authorization',
  'cookie',
];

/** pino's redaction matches fixed depths; cover the depths our log objects have (up to four). */
export const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [
  key,
  `*.${key}`,
  `*.*.${key}`,
  `*.*.*.${key}`,
]).concat(['req.headers["x-api-key"]', 'res.headers["set-cookie"]']);

export function loggerOptions(level: string): LoggerOptions {
  return { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level));
}
