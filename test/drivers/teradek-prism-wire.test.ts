/** The Prism's vendor ↔ contract mapping, one behaviour per test, no network. */
import { describe, expect, it } from 'vitest';
import { DeviceProtocolError, DeviceRejectedError } from '../../drivers/contract.js';
import {
  checkReply,
  commandOf,
  commandsFor,
  configFromWire,
  formatUptime,
  parseUptime,
  statusFromWire,
  type WireConfig,
} from '../../drivers/teradek/prism/wire.js';

const ref = { deviceId: 'p', vendor: 'teradek-prism' };

const RTMP_SETTINGS = {
  url: 'rtmp://ingest/live',
  stream: 'key',
  username: '',
  password: '',
  channel_name: 'x',
};
const SRT_SETTINGS = {
  mode: 'Caller' as const,
  host: 'srt.example',
  port: 5000,
  streamid: 'push:abc',
  latency: 500,
  passphrase: '',
};
const WIRE: WireConfig = {
  modes: { 'mode-h264': 'SRT', 'mode-hevc': 'RTMP' },
  video: { codec: 'H.264', bitrate: 2_500_000, resolution: '1280x720', framerate: 29.97, gop: 60 },
  audio: { codec: 'AAC', bitrate: 96_000, samplerate: 44100, channels: 1 },
  rtmp: RTMP_SETTINGS,
  srt: SRT_SETTINGS,
};

describe('teradek-prism wire: status', () => {
  it('statusFromWire() - Invalid is an error carrying the State Details', () => {
    expect(
      statusFromWire(
        { State: 'Invalid', 'State Details': 'Server rejected stream key' },
        undefined,
        undefined,
      ),
    ).toEqual({
      state: 'error',
      lastError: 'Server rejected stream key',
    });
  });

  it('statusFromWire() - Playing counts as streaming, with bps turned into kbps', () => {
    const status = statusFromWire(
      { State: 'Playing', Uptime: '25:01:02' },
      { Bitrate: 2_480_400, Codec: 'H.264' },
      { Resolution: '1920x1080', Framerate: '59.94' },
    );
    expect(status).toEqual({
      state: 'streaming',
      uptimeSec: 90062,
      bitrateKbps: 2480,
      input: { width: 1920, height: 1080, fps: 59.94 },
    });
  });

  it('statusFromWire() - no uptime or bitrate when not streaming, no input without a signal', () => {
    const status = statusFromWire(
      { State: 'Ready', Uptime: '00:00:00', 'State Details': '' },
      { Bitrate: 0 },
      { Format: 'No Signal', Resolution: '', Framerate: '' },
    );
    expect(status).toEqual({ state: 'idle' });
  });

  it('parseUptime() / formatUptime() - round trip beyond 24 h', () => {
    expect(parseUptime('100:00:01')).toBe(360001);
    expect(formatUptime(360001)).toBe('100:00:01');
    expect(formatUptime(61.9)).toBe('00:01:01');
  });
});

describe('teradek-prism wire: config', () => {
  it('configFromWire() - the mode of the codec in force decides the target', () => {
    expect(configFromWire(WIRE).target).toEqual({
      protocol: 'srt',
      mode: 'caller',
      host: 'srt.example',
      port: 5000,
      latencyMs: 500,
      streamId: 'push:abc',
    });
    const hevc = configFromWire({ ...WIRE, video: { ...WIRE.video, codec: 'H.265' } });
    expect(hevc.target).toEqual({ protocol: 'rtmp', url: 'rtmp://ingest/live', streamKey: 'key' });
  });

  it('configFromWire() - SRT listener, unknown services and empty RTMP settings read as no target', () => {
    expect(configFromWire({ ...WIRE, srt: { ...SRT_SETTINGS, mode: 'Listener' } }).target).toBeUndefined();
    expect(configFromWire({ ...WIRE, modes: { 'mode-h264': 'YouTube' } }).target).toBeUndefined();
    const empty = { ...RTMP_SETTINGS, url: '', stream: '' };
    expect(configFromWire({ ...WIRE, modes: { 'mode-h264': 'RTMP' }, rtmp: empty }).target).toBeUndefined();
  });

  it('configFromWire() - bps → kbps, resolution split', () => {
    expect(configFromWire(WIRE).video).toEqual({
      codec: 'h264',
      bitrateKbps: 2500,
      width: 1280,
      height: 720,
      fps: 29.97,
      keyframeIntervalFrames: 60,
    });
    expect(configFromWire(WIRE).audio).toEqual({
      codec: 'aac',
      bitrateKbps: 96,
      sampleRate: 44100,
      channels: 1,
    });
  });

  it('commandsFor() - encoder first, then destination settings, then the mode; kbps → bps', () => {
    const current = configFromWire(WIRE);
    const commands = commandsFor(
      {
        target: { protocol: 'rtmp', url: 'rtmp://a/live', streamKey: 'k' },
        video: { codec: 'h265', bitrateKbps: 1500 },
      },
      current,
      'studio',
    );
    expect(commands).toEqual([
      { topic: 'Session/0/VideoEncoder/set', body: { codec: 'H.265', bitrate: 1_500_000 } },
      {
        topic: 'Session/0/Stream/0/RTMP/set',
        body: { url: 'rtmp://a/live', stream: 'k', username: '', password: '', channel_name: 'studio' },
      },
      { topic: 'Session/0/Stream/0/set', body: { 'mode-hevc': 'RTMP' } },
    ]);
  });

  it('commandsFor() - an audio-only change selects no mode', () => {
    const commands = commandsFor({ audio: { codec: 'aac', bitrateKbps: 128 } }, configFromWire(WIRE));
    expect(commands).toEqual([
      { topic: 'Session/0/AudioEncoder/set', body: { codec: 'AAC', bitrate: 128_000 } },
    ]);
  });

  it('commandOf() - strips the timestamp; other topics are not commands', () => {
    expect(commandOf('Session/0/Stream/0/RTMP/set/1655583262718')).toBe('Session/0/Stream/0/RTMP/set');
    expect(commandOf('Session/0/Stream/0/RTMP/set')).toBeUndefined();
    expect(commandOf('Session/0/Stream/0/Info')).toBeUndefined();
  });
});

describe('teradek-prism wire: command replies', () => {
  it('checkReply() - success as JSON or as the bare text ok', () => {
    expect(() => checkReply(ref, 'x', '{"result":"success"}')).not.toThrow();
    expect(() => checkReply(ref, 'x', 'ok')).not.toThrow();
  });

  it('checkReply() - an error reply is a rejection with the device message', () => {
    const err = (() => {
      try {
        checkReply(ref, 'x', '{"result":"error","message":"Stream key missing"}');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DeviceRejectedError);
    expect((err as DeviceRejectedError).deviceMessage).toBe('Stream key missing');
  });

  it('checkReply() - junk and unknown shapes are protocol errors', () => {
    expect(() => checkReply(ref, 'x', '{"resu')).toThrow(DeviceProtocolError);
    expect(() => checkReply(ref, 'x', '{"status":"fine"}')).toThrow(DeviceProtocolError);
  });
});
