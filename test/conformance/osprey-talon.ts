import { expect } from 'vitest';
import type { EncoderConfig } from '../../drivers/contract.js';
import { talon } from '../../drivers/osprey-talon/driver.js';
import { TalonSim } from '../../drivers/osprey-talon/simulator.js';
import type { ConformanceFixture } from './fixture.js';

export const talonFixture: ConformanceFixture<TalonSim> = {
  module: talon,
  createSim: (opts) => new TalonSim(opts),
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
      },
    },
    whip: { target: { protocol: 'whip', url: 'https://127.0.0.1:8443/whip/ABCDE', bearerToken: 'tok-123' } },
  },
  av: {
    target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'ABCDE-XYZ12' },
    video: {
      codec: 'h265',
      bitrateKbps: 1500,
      width: 1280,
      height: 720,
      fps: 25,
      keyframeIntervalFrames: 50,
    },
    audio: { codec: 'aac', bitrateKbps: 96, sampleRate: 44100, channels: 1 },
  },
  assertDeviceHas(sim, config: EncoderConfig) {
    const channel = sim.snapshot().channels[0]!;
    const t = config.target;
    if (t.protocol === 'rtmp') {
      expect(channel.output.upstream_protocol).toBe('RTMP');
      expect(channel.output.rtmp).toEqual({ url: t.url, stream_key: t.streamKey });
    } else if (t.protocol === 'srt') {
      expect(channel.output.upstream_protocol).toBe('TS_OVER_SRT');
      expect(channel.output.srt).toMatchObject({
        mode: 'CALLER',
        destination_address: t.host,
        port: t.port,
        stream_id: encodeURIComponent(t.streamId ?? ''),
        latency_ms: t.latencyMs,
      });
    } else {
      expect(channel.output.upstream_protocol).toBe('WHIP');
      expect(channel.output.whip).toEqual({ endpoint: t.url, bearer_token: t.bearerToken ?? '' });
    }
    if (config.video) {
      const v = config.video;
      expect(channel.video).toMatchObject({
        codec: v.codec === 'h265' ? 'HEVC' : 'H.264',
        bitrate_kbps: v.bitrateKbps,
        ...(v.width ? { resolution: `${v.width}x${v.height}` } : {}),
        ...(v.fps ? { frame_rate: v.fps } : {}),
        ...(v.keyframeIntervalFrames ? { gop_length: v.keyframeIntervalFrames } : {}),
      });
    }
    if (config.audio) {
      const a = config.audio;
      expect(channel.audio).toMatchObject({
        codec: a.codec === 'opus' ? 'OPUS' : 'AAC-LC',
        bitrate_kbps: a.bitrateKbps,
        ...(a.sampleRate ? { sample_rate_hz: a.sampleRate } : {}),
        ...(a.channels ? { channels: a.channels } : {}),
      });
    }
  },
};
