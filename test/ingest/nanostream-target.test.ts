/**
 * The `nanostream` shorthand: expansion for every ingest kind × region, with hosts from config
 * (here loopback, as every test uses), the way back from a concrete target to its stream name,
 * and the stream-name rules.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DesiredConfigs } from '../../src/fleet/desired-config.js';
import {
  expandNanoStream,
  NANOSTREAM_REGIONS,
  type NanoStreamRegion,
  nanoStreamHosts,
  nanoStreamNameOf,
  shorthandProblems,
} from '../../src/ingest/nanostream-target.js';
import { LOOPBACK_INGEST_ENV } from '../helpers/ingest.js';

const hosts = nanoStreamHosts(loadConfig(LOOPBACK_INGEST_ENV));
const SRT_HOST: Record<NanoStreamRegion | 'none', string> = {
  none: '127.0.0.3',
  eu: '127.0.0.4',
  us: '127.0.0.5',
  as: '127.0.0.6',
  sa: '127.0.0.7',
};
const name = 'ABCDE-XYZ12';

describe('expandNanoStream', () => {
  for (const region of ['none', ...NANOSTREAM_REGIONS] as const) {
    const r = region === 'none' ? {} : { region };
    describe(`region ${region}`, () => {
      it('rtmp → the ingest URL with the stream name as key', () => {
        expect(
          expandNanoStream({ protocol: 'nanostream', ingest: 'rtmp', streamName: name, ...r }, hosts),
        ).toEqual({
          protocol: 'rtmp',
          url: 'rtmp://127.0.0.2:1935/live',
          streamKey: name,
        });
      });
      it('srt → caller to the regional host, port 5000, stream id push:<name>, 500 ms', () => {
        expect(
          expandNanoStream({ protocol: 'nanostream', ingest: 'srt', streamName: name, ...r }, hosts),
        ).toEqual({
          protocol: 'srt',
          host: SRT_HOST[region],
          port: 5000,
          mode: 'caller',
          streamId: `push:${name}`,
          latencyMs: 500,
        });
      });
      it('whip → the WHIP endpoint with the stream name as key', () => {
        expect(
          expandNanoStream({ protocol: 'nanostream', ingest: 'whip', streamName: name, ...r }, hosts),
        ).toEqual({
          protocol: 'whip',
          url: 'http://127.0.0.8:8080/p/webrtc',
          bearerToken: name,
        });
      });
    });
  }

  it('defaults: RTMP ingest; the public hosts of nanoStream Cloud', () => {
    const publicHosts = nanoStreamHosts(loadConfig({}));
    expect(expandNanoStream({ protocol: 'nanostream', streamName: name }, publicHosts)).toEqual({
      protocol: 'rtmp',
      url: 'rtmp://bintu-stream.nanocosmos.de/live',
      streamKey: name,
    });
    expect(publicHosts.srtHosts).toEqual({
      global: 'bintu-srt.nanocosmos.de',
      eu: 'bintu-srt-eu.nanocosmos.de',
      us: 'bintu-srt-us.nanocosmos.de',
      as: 'bintu-srt-as.nanocosmos.de',
      sa: 'bintu-srt-sa.nanocosmos.de',
    });
  });

  it('refuses a host variable that is not a host', () => {
    expect(() => loadConfig({ NANOSTREAM_SRT_HOST_EU: 'srt://x y' })).toThrow(
      /NANOSTREAM_SRT_HOST_EU must match format "host"/,
    );
  });
});

describe('nanoStreamNameOf', () => {
  it.each(['rtmp', 'srt', 'whip'] as const)('finds the stream name in an expanded %s target', (ingest) => {
    const target = expandNanoStream(
      { protocol: 'nanostream', ingest, streamName: name, region: 'us' },
      hosts,
    );
    expect(nanoStreamNameOf(target, hosts)).toBe(name);
  });

  it("reads bintu's own RTMP spelling (port 1935, trailing slash) as the same ingest", () => {
    const h = nanoStreamHosts(loadConfig({}));
    const target = {
      protocol: 'rtmp',
      url: 'rtmp://bintu-stream.nanocosmos.de:1935/live/',
      streamKey: name,
    } as const;
    expect(nanoStreamNameOf(target, h)).toBe(name);
  });

  it('is undefined for targets that go elsewhere', () => {
    expect(nanoStreamNameOf({ protocol: 'rtmp', url: 'rtmp://127.9.9.9/live', streamKey: name }, hosts)).toBe(
      undefined,
    );
    expect(
      nanoStreamNameOf(
        {
          protocol: 'srt',
          host: '127.9.9.9',
          port: 5000,
          mode: 'caller',
          streamId: `push:${name}`,
          latencyMs: 500,
        },
        hosts,
      ),
    ).toBe(undefined);
  });
});

describe('stream names', () => {
  it('SRT: the stream id push:<name> may be 512 characters, not 513', () => {
    expect(shorthandProblems({ ingest: 'srt', streamName: 'a'.repeat(507) })).toEqual([]);
    expect(shorthandProblems({ ingest: 'srt', streamName: 'a'.repeat(508) })).toEqual([
      {
        field: 'streamName',
        reason:
          'makes the SRT stream id "push:<streamName>" 513 characters long; at most 512 are allowed (stream name ≤ 507)',
      },
    ]);
  });

  it('RTMP and WHIP take up to 512 characters (the stream key limit)', () => {
    expect(shorthandProblems({ ingest: 'rtmp', streamName: 'a'.repeat(512) })).toEqual([]);
    expect(shorthandProblems({ ingest: 'whip', streamName: 'a'.repeat(512) })).toEqual([]);
  });

  it.each(['has space', 'push:x', 'a?b=c', 'a&b', 'dot.ted', 'ümlaut'])('refuses %j (charset)', (bad) => {
    expect(shorthandProblems({ ingest: 'rtmp', streamName: bad })).toEqual([
      { field: 'streamName', reason: 'may contain only letters, digits, "-" and "_"' },
    ]);
  });

  it('needs a name once config and overrides are merged', () => {
    const configs = new DesiredConfigs(hosts);
    expect(configs.resolve({ target: { protocol: 'nanostream', ingest: 'srt' } }, undefined)).toEqual({
      ok: false,
      errors: [
        {
          field: 'config/target/streamName',
          reason: "is required (in the config or the device's overrides)",
        },
      ],
    });
    expect(
      configs.resolve(
        { target: { protocol: 'nanostream', ingest: 'srt' } },
        { target: { streamName: name } },
      ),
    ).toEqual({
      ok: true,
      config: {
        target: {
          protocol: 'srt',
          host: '127.0.0.3',
          port: 5000,
          mode: 'caller',
          streamId: `push:${name}`,
          latencyMs: 500,
        },
      },
    });
  });
});

describe('renditions', () => {
  const configs = new DesiredConfigs(hosts);
  const base = {
    target: { protocol: 'nanostream' as const, ingest: 'rtmp' as const },
    video: { codec: 'h264' as const, bitrateKbps: 2000, width: 1280, height: 720, fps: 30 },
    renditions: [{ video: { bitrateKbps: 500, width: 640, height: 360 } }],
  };

  it('each rendition gets its own stream from the overrides; video merges over the main one', () => {
    const resolved = configs.resolve(base, {
      target: { streamName: 'MAIN-1' },
      renditions: [{ target: { streamName: 'LOW-1' } }],
    });
    expect(resolved).toEqual({
      ok: true,
      config: {
        target: { protocol: 'rtmp', url: 'rtmp://127.0.0.2:1935/live', streamKey: 'MAIN-1' },
        video: base.video,
        renditions: [
          {
            target: { protocol: 'rtmp', url: 'rtmp://127.0.0.2:1935/live', streamKey: 'LOW-1' },
            video: { codec: 'h264', bitrateKbps: 500, width: 640, height: 360, fps: 30 },
          },
        ],
      },
    });
  });

  it('a rendition sending to the main stream is refused, naming it', () => {
    expect(configs.resolve(base, { target: { streamName: 'MAIN-1' } })).toEqual({
      ok: false,
      errors: [
        {
          field: 'config/renditions/0/target',
          reason:
            'sends to the same stream as the main stream; give each rendition its own stream name or key',
        },
      ],
    });
  });
});
