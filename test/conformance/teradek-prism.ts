import { expect } from 'vitest';
import type { EncoderConfig } from '../../drivers/contract.js';
import { teradekPrism } from '../../drivers/teradek/prism/driver.js';
import { PrismSim } from '../../drivers/teradek/prism/simulator.js';
import type { ConformanceFixture } from './fixture.js';

export const prismFixture: ConformanceFixture<PrismSim> = {
  module: teradekPrism,
  createSim: (opts) => new PrismSim(opts),
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
  /** Reads the simulator's own settings: what arrived over MQTT, not what the driver believes. */
  assertDeviceHas(sim, config: EncoderConfig) {
    const { settings } = sim.snapshot();
    const codec = config.video?.codec ?? (settings.video.codec === 'H.265' ? 'h265' : 'h264');
    const mode = settings.modes[codec === 'h265' ? 'mode-hevc' : 'mode-h264'];
    const t = config.target;
    if (t.protocol === 'rtmp') {
      expect(mode).toBe('RTMP');
      expect(settings.rtmp).toMatchObject({ url: t.url, stream: t.streamKey, username: '', password: '' });
    } else if (t.protocol === 'srt') {
      expect(mode).toBe('SRT');
      expect(settings.srt).toEqual({
        mode: 'Caller',
        host: t.host,
        port: t.port,
        streamid: t.streamId ?? '',
        latency: t.latencyMs,
        passphrase: t.passphrase ?? '',
      });
    } else {
      throw new Error('the Prism has no WHIP mode');
    }
    if (config.video) {
      const v = config.video;
      expect(settings.video).toMatchObject({
        codec: v.codec === 'h265' ? 'H.265' : 'H.264',
        bitrate: v.bitrateKbps * 1000,
        ...(v.width ? { resolution: `${v.width}x${v.height}` } : {}),
        ...(v.fps ? { framerate: v.fps } : {}),
        ...(v.keyframeIntervalFrames ? { gop: v.keyframeIntervalFrames } : {}),
      });
    }
    if (config.audio) {
      const a = config.audio;
      expect(settings.audio).toMatchObject({
        codec: 'AAC',
        bitrate: a.bitrateKbps * 1000,
        ...(a.sampleRate ? { samplerate: a.sampleRate } : {}),
        ...(a.channels ? { channels: a.channels } : {}),
      });
    }
  },
};
