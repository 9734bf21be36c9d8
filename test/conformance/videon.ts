import { expect } from 'vitest';
import type { EncoderConfig } from '../../drivers/contract.js';
import { videon } from '../../drivers/videon/driver.js';
import { SLOTS, VideonSim } from '../../drivers/videon/simulator.js';
import { joinRtmpUrl, parseServiceData } from '../../drivers/videon/wire.js';
import type { ConformanceFixture } from './fixture.js';

const credentials = { username: 'admin', password: 'conformance-pw' };

export const videonFixture: ConformanceFixture<VideonSim> = {
  module: videon,
  // Auth on, so the good-credentials check exercises the Basic header and the wrong-password check
  // (it changes sim.password) gets a 401.
  createSim: (opts) => new VideonSim({ ...opts, ...credentials, requireAuth: true }),
  credentials,
  targets: {
    rtmp: { target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'ABCDE-XYZ12' } },
    srt: {
      target: {
        protocol: 'srt',
        host: '127.0.0.1',
        port: 5000,
        mode: 'caller',
        streamId: 'push:ABCDE-XYZ12',
        latencyMs: 500,
        passphrase: 'a-long-passphrase',
      },
    },
  },
  // No fps (follows the input), no sample rate (no such field).
  av: {
    target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'ABCDE-XYZ12' },
    video: { codec: 'h265', bitrateKbps: 1500, width: 1280, height: 720, keyframeIntervalFrames: 50 },
    audio: { codec: 'aac', bitrateKbps: 96, channels: 1 },
  },
  /** Reads the simulator's own objects: what arrived in the PUT bodies, not what the driver believes. */
  assertDeviceHas(sim, config: EncoderConfig) {
    const { outStreams, vid, aud } = sim.snapshot();
    const rtmp = outStreams[SLOTS.rtmp]!.output_type.rtmp!;
    const srt = outStreams[SLOTS.srt[0]]!.output_type.srt!;
    const rtmpUrl = parseServiceData(rtmp.service.data)?.url;
    const t = config.target;
    if (t.protocol === 'rtmp') {
      expect(rtmp.service.value).toBe('generic_rtmp');
      // Proper JSON on the wire, URL and key joined by one '/'.
      expect(JSON.parse(rtmp.service.data)).toEqual({ url: joinRtmpUrl(t.url, t.streamKey) });
      expect(rtmpUrl).toBe(joinRtmpUrl(t.url, t.streamKey));
      expect(srt.url).toBe(''); // the other slot is emptied
    } else if (t.protocol === 'srt') {
      expect(srt).toMatchObject({
        mode: { value: 'caller' },
        url: `srt://${t.host}`,
        port: t.port,
        stream_id: t.streamId ?? '',
        latency_ms: t.latencyMs,
        passphrase: t.passphrase ?? '',
        encryption: { value: t.passphrase ? 'AES_128' : 'NONE' },
      });
      expect(rtmpUrl).toBe('');
    } else {
      throw new Error('Videon has no WHIP output');
    }
    if (config.video) {
      const v = config.video;
      expect(vid).toMatchObject({
        codec: { value: v.codec === 'h265' ? 'H265' : 'H264' },
        bitrate: { value: v.bitrateKbps },
        ...(v.width ? { scaling_resolution: { value: `RES_${v.width}X${v.height}` } } : {}),
        ...(v.keyframeIntervalFrames
          ? { keyframe_interval: { interval: v.keyframeIntervalFrames, unit: 'FRAMES' } }
          : {}),
      });
    }
    if (config.audio) {
      const a = config.audio;
      expect(aud).toMatchObject({
        codec: { value: 'mpeg4_aac' },
        bitrate: { value: String(a.bitrateKbps) }, // the vendor's string quirk
        ...(a.channels ? { mix_mode: { value: a.channels === 1 ? 'MONO' : 'STEREO' } } : {}),
      });
    }
  },
};
