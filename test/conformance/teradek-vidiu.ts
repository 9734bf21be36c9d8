import { expect } from 'vitest';
import type { EncoderConfig } from '../../drivers/contract.js';
import { teradekVidiu } from '../../drivers/teradek/vidiu/driver.js';
import { VidiuSim } from '../../drivers/teradek/vidiu/simulator.js';
import { KEYS } from '../../drivers/teradek/vidiu/wire.js';
import type { ConformanceFixture } from './fixture.js';

export const vidiuFixture: ConformanceFixture<VidiuSim> = {
  module: teradekVidiu,
  createSim: (opts) => new VidiuSim(opts),
  targets: {
    rtmp: { target: { protocol: 'rtmp', url: 'rtmps://127.0.0.1:443/live', streamKey: 'ABCDE-XYZ12' } },
  },
  av: {
    target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'ABCDE-XYZ12' },
    video: {
      codec: 'h264',
      bitrateKbps: 2500,
      width: 1280,
      height: 720,
      fps: 29.97,
      keyframeIntervalFrames: 60,
    },
    audio: { codec: 'aac', bitrateKbps: 96, sampleRate: 44100, channels: 1 },
  },
  /** Reads the simulator's active settings (what `apply` made of the `set` forms), not the driver's view. */
  assertDeviceHas(sim, config: EncoderConfig) {
    const { settings, pending } = sim.snapshot();
    expect(pending).toEqual({});
    const t = config.target;
    if (t.protocol !== 'rtmp') throw new Error('the VidiU has RTMP only');
    expect(settings[KEYS.mode]).toBe('RTMP');
    expect(settings[KEYS.rtmpUrl]).toBe(t.url);
    expect(settings[KEYS.rtmpStream]).toBe(t.streamKey);
    if (config.video) {
      const v = config.video;
      expect(settings[KEYS.videoCodec]).toBe('H.264');
      expect(settings[KEYS.videoBitrate]).toBe(String(v.bitrateKbps));
      if (v.width) expect(settings[KEYS.videoResolution]).toBe(`${v.width}x${v.height}`);
      if (v.fps) expect(settings[KEYS.videoFramerate]).toBe(String(v.fps));
      if (v.keyframeIntervalFrames) expect(settings[KEYS.videoGop]).toBe(String(v.keyframeIntervalFrames));
    }
    if (config.audio) {
      const a = config.audio;
      expect(settings[KEYS.audioCodec]).toBe('AAC');
      expect(settings[KEYS.audioBitrate]).toBe(String(a.bitrateKbps));
      if (a.sampleRate) expect(settings[KEYS.audioSampleRate]).toBe(String(a.sampleRate));
      if (a.channels) expect(settings[KEYS.audioChannels]).toBe(String(a.channels));
    }
  },
};
