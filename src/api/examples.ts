/**
 * Example request bodies shown in the OpenAPI document. A test sends each one to its route and
 * checks it passes validation, so they cannot drift from the schemas.
 */

/** The schema with `examples` set; the document generator shows the first as the body's example. */
export function withExamples<T extends object>(schema: T, ...examples: readonly unknown[]): T {
  return { ...schema, examples };
}

export const EXAMPLE_CONFIG = {
  target: {
    protocol: 'srt',
    host: 'bintu-srt.nanocosmos.de',
    port: 5000,
    mode: 'caller',
    streamId: 'push:ABCDE-XYZ12',
    latencyMs: 500,
  },
  video: { codec: 'h264', width: 1280, height: 720, fps: 30, bitrateKbps: 1500, keyframeIntervalFrames: 60 },
  audio: { codec: 'aac', bitrateKbps: 128, sampleRate: 48000, channels: 2 },
};

export const EXAMPLE_DEVICE = {
  name: 'studio-a',
  vendor: 'osprey-talon',
  host: '10.20.0.11',
  credentials: { username: 'admin', password: 'osprey' },
  labels: { site: 'berlin', stage: 'main' },
  profile: 'news-720p',
  overrides: { target: { streamId: 'push:ABCDE-XYZ12' } },
};

export const EXAMPLE_DEVICE_PATCH = { labels: { site: 'berlin', stage: 'backup' }, driftPolicy: 'heal' };

export const EXAMPLE_IMPORT_CSV = `name,vendor,host,port,username,password,labels,profile,tls_mode,tls_fingerprint
studio-c,osprey-talon,10.20.0.13,,admin,osprey,site=berlin;stage=main,news-720p,,
studio-d,videon,10.20.0.14,2020,,,site=berlin;stage=backup,news-720p,,
`;

export const EXAMPLE_IMPORT_JSON = JSON.stringify([
  { name: 'studio-e', vendor: 'teradek-vidiu', host: '10.20.0.15', labels: { site: 'hamburg' } },
]);

export const EXAMPLE_JOBS = [
  {
    action: 'apply',
    selector: 'site=berlin,stage in (main,backup)',
    profile: 'news-720p',
    options: { dryRun: true, canary: 2, maxFailures: '10%', retries: 2 },
  },
  { action: 'start', selector: 'site=berlin', options: { maxFailures: 2 } },
];

export const EXAMPLE_PROFILE = {
  name: 'news-720p',
  description: '720p30 SRT to nanoStream; stream ids per device as overrides',
  config: EXAMPLE_CONFIG,
  driftPolicy: 'report',
};

export const EXAMPLE_PROFILE_UPDATE = { config: { video: { codec: 'h264', bitrateKbps: 2500 } } };

export const EXAMPLE_WEBHOOK = {
  url: 'https://ops.example.org/hooks/encoders',
  types: ['device.state', 'device.alert', 'job.finished'],
  selector: 'site=berlin',
};

export const EXAMPLE_WEBHOOK_PATCH = { enabled: false };

export const EXAMPLE_SCHEDULE = {
  name: 'berlin-evening-news',
  selector: 'site=berlin',
  profile: 'news-720p',
  recurrence: { cron: '0 19 * * MON-FRI', timezone: 'Europe/Berlin', durationMinutes: 45 },
  options: { preRollMinutes: 2, postRollMinutes: 1, missedRunPolicy: 'run-if-within', graceMinutes: 5 },
};

export const EXAMPLE_SCHEDULE_PATCH = { enabled: false };

export const EXAMPLE_KEY = { name: 'berlin-ops', role: 'operator', scope: 'site=berlin' };

export const EXAMPLE_VALIDATE = { config: EXAMPLE_CONFIG, strict: false };

export const EXAMPLE_PROVISION = {
  selector: 'site=berlin',
  ingest: 'srt',
  region: 'eu',
  profile: 'news-720p',
};

/** As nanoStream Cloud posts it (form-urlencoded). */
export const EXAMPLE_INGEST_WEBHOOK = 'call=publish&name=ABCDE-XYZ12&app=live&addr=203.0.113.7&clientid=4711';
