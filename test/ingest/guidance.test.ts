/**
 * Setting guidance, one rule at a time, at the exact figures of nanoStream's recommendations: the
 * value on each side of every bound, and the recommended value returned.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { adviseConfig, type GuidedConfig, groupAdvice } from '../../src/ingest/guidance.js';
import { nanoStreamHosts } from '../../src/ingest/nanostream-target.js';
import { configKbps, mbPerHour, trafficEstimate } from '../../src/ingest/traffic.js';
import { LOOPBACK_INGEST_ENV } from '../helpers/ingest.js';

const hosts = nanoStreamHosts(loadConfig(LOOPBACK_INGEST_ENV));
const rtmp = { protocol: 'rtmp', url: 'rtmp://127.9.0.1/live', streamKey: 'k' } as const;
/** A config that follows every recommendation: 720p30, 1000 kbit/s, keyframe every 2 s, H.264, RTMP. */
const good = {
  target: rtmp,
  video: { codec: 'h264', bitrateKbps: 1000, width: 1280, height: 720, fps: 30, keyframeIntervalFrames: 60 },
} as const;
const withVideo = (video: object): GuidedConfig => ({ ...good, video: { ...good.video, ...video } });
const codes = (config: GuidedConfig, facts = {}) => adviseConfig(config, hosts, facts).map((a) => a.code);

describe('setting guidance', () => {
  it('a config following every recommendation gets no warning', () => {
    expect(adviseConfig(good, hosts)).toEqual([]);
  });

  describe('frame rate: 25 or 30 fps, not 60', () => {
    it.each([25, 29.97, 30])('%s fps is fine', (fps) => {
      expect(codes(withVideo({ fps, keyframeIntervalFrames: Math.round(2 * fps) }))).toEqual([]);
    });
    it.each([
      [60, 30],
      [59.94, 30],
      [50, 25],
    ])('%s fps → warning, recommended %s', (fps, recommended) => {
      expect(adviseConfig(withVideo({ fps, keyframeIntervalFrames: 2 * fps }), hosts)).toEqual([
        {
          code: 'frame_rate_high',
          field: 'video.fps',
          message: `${fps} fps: nanoStream recommends 25 or 30 fps for ultra-low latency, not 60`,
          recommended,
        },
      ]);
    });
  });

  describe('keyframe interval: about 2 s (50–60 frames at 25/30 fps)', () => {
    it.each([
      [25, 50],
      [30, 60],
      [30, 45],
      [30, 75],
    ])('%s fps, every %s frames (1.5–2.5 s) is fine', (fps, frames) => {
      expect(codes(withVideo({ fps, keyframeIntervalFrames: frames }))).toEqual([]);
    });
    it.each([
      [30, 44, 60, '1.47'],
      [30, 76, 60, '2.53'],
      [25, 250, 50, '10'],
      [30, 30, 60, '1'],
    ])('%s fps, every %s frames → recommended %s', (fps, frames, recommended, seconds) => {
      expect(adviseConfig(withVideo({ fps, keyframeIntervalFrames: frames }), hosts)).toEqual([
        {
          code: 'keyframe_interval',
          field: 'video.keyframeIntervalFrames',
          message: `a keyframe every ${frames} frames is ${seconds} s at ${fps} fps; nanoStream recommends about 2 s (50–60 frames at 25/30 fps)`,
          recommended,
        },
      ]);
    });
    it('uses the capture frame rate when the config sets none', () => {
      const config = {
        ...good,
        video: { codec: 'h264', bitrateKbps: 1000, keyframeIntervalFrames: 250 },
      } as const;
      expect(adviseConfig(config, hosts)).toEqual([]);
      expect(adviseConfig(config, hosts, { input: { width: 1280, height: 720, fps: 25 } })[0]).toMatchObject({
        code: 'keyframe_interval',
        recommended: 50,
      });
    });
  });

  describe('bitrate for the resolution', () => {
    it.each([
      ['640x360 (≤576p)', 640, 360, 300, 2000],
      ['720x576 (≤576p)', 720, 576, 300, 2000],
      ['1280x720', 1280, 720, 600, 2000],
      ['1920x1080', 1920, 1080, 2000, 6000],
    ])('%s: %s..%s kbit/s is the range', (_n, width, height, min, max) => {
      const at = (bitrateKbps: number) => codes(withVideo({ width, height, bitrateKbps }));
      expect(at(min)).toEqual([]);
      expect(at(max)).toEqual([]);
      expect(at(min - 1)).toEqual(['bitrate_low']);
      expect(at(max + 1)).toEqual(['bitrate_high']);
      const low = adviseConfig(withVideo({ width, height, bitrateKbps: min - 1 }), hosts)[0]!;
      expect(low.recommended).toBe(min);
      expect(low.field).toBe('video.bitrateKbps');
      expect(adviseConfig(withVideo({ width, height, bitrateKbps: max + 1 }), hosts)[0]!.recommended).toBe(
        max,
      );
    });

    it('names the figures in the message', () => {
      expect(adviseConfig(withVideo({ bitrateKbps: 500 }), hosts)[0]!.message).toBe(
        '500 kbit/s is below the 600–2000 kbit/s recommended for 720p',
      );
    });

    it('4K: up to about 6000 kbit/s', () => {
      const uhd = (bitrateKbps: number) =>
        codes({ target: rtmp, video: { codec: 'h264', bitrateKbps, width: 3840, height: 2160 } });
      expect(uhd(6000)).toEqual(['resolution_nonstandard']);
      expect(uhd(6001)).toEqual(['bitrate_high', 'resolution_nonstandard']);
    });

    it('mobile / public Wi-Fi audiences: far below 1000 kbit/s, e.g. 500', () => {
      const mobile = (bitrateKbps: number) =>
        adviseConfig(withVideo({ bitrateKbps, width: 640, height: 360 }), hosts, {}, 'mobile');
      expect(mobile(999)).toEqual([]);
      expect(mobile(1000)).toEqual([
        {
          code: 'bitrate_mobile',
          field: 'video.bitrateKbps',
          message:
            '1000 kbit/s: for audiences on mobile / public Wi-Fi nanoStream recommends far below 1000 kbit/s, e.g. 500',
          recommended: 500,
        },
      ]);
    });
  });

  describe('standard resolutions', () => {
    it.each([
      [640, 480],
      [640, 360],
      [424, 240],
      [768, 432],
      [848, 480],
      [720, 576],
      [1024, 576],
      [1280, 720],
      [1920, 1080],
    ])('%sx%s is standard', (width, height) => {
      expect(codes(withVideo({ width, height })).filter((c) => c === 'resolution_nonstandard')).toEqual([]);
    });
    it.each([
      [1366, 768, { width: 1280, height: 720 }],
      [960, 540, { width: 1024, height: 576 }],
      [800, 600, { width: 640, height: 480 }],
    ])('%sx%s → nearest standard of the same shape', (width, height, recommended) => {
      const warning = adviseConfig(withVideo({ width, height }), hosts).find(
        (a) => a.code === 'resolution_nonstandard',
      );
      expect(warning).toMatchObject({ field: 'video.width', recommended });
    });
  });

  describe('upscaling (capture lower than streamed), when the device reports its input', () => {
    it('warns, recommending the largest standard resolution the capture fills', () => {
      const config = withVideo({ width: 1920, height: 1080, bitrateKbps: 2500 });
      expect(codes(config)).toEqual([]);
      expect(adviseConfig(config, hosts, { input: { width: 1280, height: 720, fps: 30 } })).toEqual([
        {
          code: 'upscaling',
          field: 'video.width',
          message:
            'the device captures 1280x720 but would stream 1920x1080: upscaling costs bitrate and adds nothing; stream at most the capture resolution',
          recommended: { width: 1280, height: 720 },
        },
      ]);
    });
    it('a capture at or above the streamed resolution is fine', () => {
      expect(codes(good, { input: { width: 1920, height: 1080, fps: 30 } })).toEqual([]);
      expect(codes(good, { input: { width: 1280, height: 720, fps: 30 } })).toEqual([]);
    });
  });

  describe('resolution change while streaming', () => {
    it('warns that it interrupts viewers, recommending the current resolution', () => {
      expect(adviseConfig(good, hosts, { streaming: true, current: { width: 1920, height: 1080 } })).toEqual([
        {
          code: 'resolution_change_live',
          field: 'video.width',
          message:
            'the device is streaming at 1920x1080: changing the resolution during a stream interrupts viewers',
          recommended: { width: 1920, height: 1080 },
        },
      ]);
    });
    it('not when idle, nor when the resolution stays', () => {
      expect(codes(good, { streaming: false, current: { width: 1920, height: 1080 } })).toEqual([]);
      expect(codes(good, { streaming: true, current: { width: 1280, height: 720 } })).toEqual([]);
    });
  });

  describe('H.265 and SRT need nanoStream to enable them on request', () => {
    const nano = (ingest: string) => ({ protocol: 'nanostream', ingest, streamName: 'X' }) as const;
    it('H.265 to nanoStream → recommended h264', () => {
      expect(adviseConfig({ ...withVideo({ codec: 'h265' }), target: nano('rtmp') as never }, hosts)).toEqual(
        [
          {
            code: 'h265_on_request',
            field: 'video.codec',
            message:
              'nanoStream Cloud takes H.265 only where it was enabled on request; H.264 is the default',
            recommended: 'h264',
          },
        ],
      );
    });
    it('SRT to nanoStream (shorthand or its concrete host) → recommended rtmp', () => {
      const warning = {
        code: 'srt_on_request',
        field: 'target',
        message:
          'nanoStream Cloud takes SRT only where it was enabled on request; RTMP is the default ingest',
        recommended: 'rtmp',
      };
      expect(adviseConfig({ ...good, target: nano('srt') as never }, hosts)).toEqual([warning]);
      const concrete = {
        protocol: 'srt',
        host: '127.0.0.4',
        port: 5000,
        mode: 'caller',
        streamId: 'push:X',
        latencyMs: 500,
      } as const;
      expect(adviseConfig({ ...good, target: concrete }, hosts)).toEqual([warning]);
    });
    it('H.265 or SRT to another ingest is not warned about', () => {
      const other = {
        protocol: 'srt',
        host: '127.9.9.9',
        port: 5000,
        mode: 'caller',
        latencyMs: 500,
      } as const;
      expect(codes({ ...withVideo({ codec: 'h265' }), target: other })).toEqual([]);
    });
  });

  it('renditions are checked too, fields prefixed', () => {
    const config: GuidedConfig = {
      ...good,
      renditions: [{ target: rtmp, video: { ...good.video, bitrateKbps: 200, width: 640, height: 360 } }],
    };
    expect(adviseConfig(config, hosts)).toEqual([
      expect.objectContaining({
        code: 'bitrate_low',
        field: 'renditions.0.video.bitrateKbps',
        recommended: 300,
      }),
    ]);
  });

  it('groups the same warning across devices: a count and the first 20 ids', () => {
    const advice = adviseConfig(withVideo({ fps: 60, keyframeIntervalFrames: 120 }), hosts);
    const grouped = groupAdvice(Array.from({ length: 25 }, (_, i) => ({ deviceId: `d${i}`, advice })));
    expect(grouped).toHaveLength(1);
    expect(grouped[0]).toMatchObject({ code: 'frame_rate_high', devices: 25 });
    expect(grouped[0]!.deviceIds).toHaveLength(20);
  });
});

describe('traffic estimate: kbit/s × 3600 / 8 per hour', () => {
  it('500 kbit/s ≈ 225 MB/h, 1000 kbit/s ≈ 450 MB/h', () => {
    expect(mbPerHour(500)).toBe(225);
    expect(mbPerHour(1000)).toBe(450);
  });
  it('counts every output of a device, video and audio', () => {
    const abr = {
      video: { codec: 'h264', bitrateKbps: 2000 },
      audio: { codec: 'aac', bitrateKbps: 128 },
      renditions: [
        {
          target: rtmp,
          video: { codec: 'h264', bitrateKbps: 500 },
          audio: { codec: 'aac', bitrateKbps: 64 },
        },
      ],
    } as const;
    expect(configKbps(abr)).toBe(2692);
    expect(configKbps({})).toBeUndefined();
  });
  it('totals across devices and hours; devices without a bitrate are counted apart', () => {
    expect(trafficEstimate([500, 1000, undefined], 2)).toEqual({
      devices: 3,
      devicesWithoutBitrate: 1,
      totalKbps: 1500,
      mbPerHour: 675,
      hours: 2,
      totalMb: 1350,
    });
  });
});
