/**
 * Multi-bitrate renditions against the simulators over loopback. Osprey Talon: each rendition is a
 * channel of its own (rendition i = channel i + 2). Videon: renditions go to SRT outputs 2 and 3,
 * each with a video encoder of its own and the main audio encoder. Write, read back, idempotence,
 * start/stop of every configured output, clearing, live changes; and the clear refusal of
 * single-output drivers.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkCapabilities,
  type EncoderConfig,
  type EncoderDriver,
  UnsupportedConfigError,
} from '../../drivers/contract.js';
import { talon } from '../../drivers/osprey-talon/driver.js';
import { TalonSim } from '../../drivers/osprey-talon/simulator.js';
import { SimServer } from '../../drivers/sim/server.js';
import { teradekPrism } from '../../drivers/teradek/prism/driver.js';
import { teradekVidiu } from '../../drivers/teradek/vidiu/driver.js';
import { videon } from '../../drivers/videon/driver.js';
import { VideonSim } from '../../drivers/videon/simulator.js';

const video = { codec: 'h264', fps: 30, keyframeIntervalFrames: 60 } as const;
const ABR: EncoderConfig = {
  target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'MAIN-2000' },
  video: { ...video, bitrateKbps: 2000, width: 1280, height: 720 },
  renditions: [
    {
      target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'LOW-500' },
      video: { ...video, bitrateKbps: 500, width: 640, height: 360 },
    },
  ],
};

let server: SimServer | undefined;
let driver: EncoderDriver | undefined;

afterEach(async () => {
  await driver?.close();
  await server?.close();
  server = driver = undefined;
});

async function setup() {
  server = new SimServer();
  const sim = new TalonSim({ id: 'talon-abr', startDelayMs: 30, rebootMs: 200 });
  const address = await server.listen(sim);
  driver = talon.create({
    endpoint: { id: sim.id, vendor: 'osprey-talon', host: address.host, port: address.port },
    timeoutMs: 1000,
  });
  return { sim, driver };
}

async function waitForStates(sim: TalonSim, want: string[]) {
  for (let i = 0; i < 100; i++) {
    if (JSON.stringify(sim.snapshot().states) === JSON.stringify(want)) return;
    await sleep(20);
  }
  expect(sim.snapshot().states).toEqual(want);
}

describe('Talon renditions', () => {
  it('.applyConfig() writes each rendition to its own channel and reads them back', async () => {
    const { sim, driver } = await setup();
    const result = await driver.applyConfig(ABR);
    expect(result.deviations).toEqual([]);
    expect(result.changes.map((c) => c.path)).toContain('renditions.0.target');
    const [main, low, third] = sim.snapshot().channels;
    expect(main!.output.rtmp.stream_key).toBe('MAIN-2000');
    expect(main!.video).toMatchObject({ bitrate_kbps: 2000, resolution: '1280x720' });
    expect(low!.output).toMatchObject({
      upstream_protocol: 'RTMP',
      rtmp: { url: 'rtmp://127.0.0.1:1935/live', stream_key: 'LOW-500' },
    });
    expect(low!.video).toMatchObject({ bitrate_kbps: 500, resolution: '640x360', gop_length: 60 });
    expect(third!.output.upstream_protocol).toBe('NONE');

    const read = await driver.getConfig({ renditions: true });
    expect(read.renditions).toHaveLength(3);
    expect(read.renditions![0]!.target).toEqual(ABR.renditions![0]!.target);
    expect(read.renditions![1]!.target).toBeUndefined();
  });

  it('.applyConfig() a second time writes nothing', async () => {
    const { sim, driver } = await setup();
    await driver.applyConfig(ABR);
    const writes = sim.effects.filter((e) => e.kind === 'config').length;
    const again = await driver.applyConfig(ABR);
    expect(again.changes).toEqual([]);
    expect(sim.effects.filter((e) => e.kind === 'config').length).toBe(writes);
  });

  it('.getConfig() without renditions reads only the main channel', async () => {
    const { driver } = await setup();
    await driver.applyConfig(ABR);
    expect((await driver.getConfig()).renditions).toBeUndefined();
  });

  it('.start() and .stop() run every configured channel', async () => {
    const { sim, driver } = await setup();
    await driver.applyConfig(ABR);
    await driver.start();
    await waitForStates(sim, ['RUNNING', 'RUNNING', 'IDLE', 'IDLE']);
    await driver.stop();
    await waitForStates(sim, ['IDLE', 'IDLE', 'IDLE', 'IDLE']);
  });

  it('a rendition added while live starts at once; one removed stops and is cleared', async () => {
    const { sim, driver } = await setup();
    await driver.applyConfig(ABR);
    await driver.start();
    await waitForStates(sim, ['RUNNING', 'RUNNING', 'IDLE', 'IDLE']);

    const two = ABR.renditions![0]!;
    const three = { ...two, target: { ...two.target, streamKey: 'LOWER-300' } as const };
    await driver.applyConfig({
      ...ABR,
      renditions: [two, { ...three, video: { ...three.video, bitrateKbps: 300 } }],
    });
    await waitForStates(sim, ['RUNNING', 'RUNNING', 'RUNNING', 'IDLE']);

    const result = await driver.applyConfig({ ...ABR, renditions: [] });
    expect(result.changes.map((c) => c.path).sort()).toEqual(['renditions.0', 'renditions.1']);
    await waitForStates(sim, ['RUNNING', 'IDLE', 'IDLE', 'IDLE']);
    expect(
      sim
        .snapshot()
        .channels.slice(1)
        .map((c) => c.output.upstream_protocol),
    ).toEqual(['NONE', 'NONE', 'NONE']);
  });

  it('a config without `renditions` leaves the further channels alone', async () => {
    const { sim, driver } = await setup();
    await driver.applyConfig(ABR);
    const { renditions: _, ...mainOnly } = ABR;
    await driver.applyConfig({ ...mainOnly, video: { ...ABR.video!, bitrateKbps: 1800 } });
    expect(sim.snapshot().channels[1]!.output.rtmp.stream_key).toBe('LOW-500');
  });

  it('refuses more renditions than channels, before any write', async () => {
    const { sim, driver } = await setup();
    const r = ABR.renditions![0]!;
    const tooMany = { ...ABR, renditions: [r, r, r, r] };
    await expect(driver.applyConfig(tooMany)).rejects.toThrow(UnsupportedConfigError);
    await expect(driver.applyConfig(tooMany)).rejects.toThrow(
      /osprey-talon runs at most 4 outputs at once \(the main stream and 3 renditions\); asked for 4/,
    );
    expect(sim.effects.filter((e) => e.kind === 'config')).toEqual([]);
  });

  it('checks each rendition against the capabilities, naming its field', () => {
    const bad = {
      ...ABR,
      renditions: [{ ...ABR.renditions![0]!, video: { ...ABR.renditions![0]!.video, bitrateKbps: 50 } }],
    };
    expect(checkCapabilities(talon.capabilities, bad)).toEqual([
      { field: 'renditions.0.video.bitrateKbps', reason: 'must be 100..40000' },
    ]);
  });
});

describe('Videon renditions (SRT outputs 2 and 3)', () => {
  const srt = (streamId: string) =>
    ({ protocol: 'srt', host: '127.0.0.1', port: 5000, mode: 'caller', streamId, latencyMs: 500 }) as const;
  const hd = { codec: 'h264', keyframeIntervalFrames: 60 } as const;
  const VIDEON_ABR: EncoderConfig = {
    target: srt('push:MAIN'),
    video: { ...hd, bitrateKbps: 2000, width: 1280, height: 720 },
    audio: { codec: 'aac', bitrateKbps: 128, channels: 2 },
    renditions: [
      { target: srt('push:LOW'), video: { ...hd, bitrateKbps: 500, width: 640, height: 360 } },
      { target: srt('push:MID'), video: { ...hd, bitrateKbps: 1000, width: 640, height: 360 } },
    ],
  };

  async function setupVideon() {
    server = new SimServer();
    const sim = new VideonSim({ id: 'videon-abr', startDelayMs: 30, rebootMs: 200 });
    const address = await server.listen(sim);
    driver = videon.create({
      endpoint: { id: sim.id, vendor: 'videon', host: address.host, port: address.port },
      timeoutMs: 1000,
    });
    return { sim, driver };
  }

  it('.applyConfig() gives each rendition its SRT slot and a video encoder of its own', async () => {
    const { sim, driver } = await setupVideon();
    const result = await driver.applyConfig(VIDEON_ABR);
    expect(result.deviations).toEqual([]);
    const snap = sim.snapshot().outStreams;
    expect(snap[30]!.output_type.srt).toMatchObject({ url: 'srt://127.0.0.1', stream_id: 'push:MAIN' });
    expect(snap[31]!.output_type.srt).toMatchObject({ url: 'srt://127.0.0.1', stream_id: 'push:LOW' });
    expect(snap[32]!.output_type.srt).toMatchObject({ url: 'srt://127.0.0.1', stream_id: 'push:MID' });
    const [low, mid] = [
      snap[31]!.video_sources!.video_source_ids[0]!,
      snap[32]!.video_sources!.video_source_ids[0]!,
    ];
    expect(new Set([1, low, mid]).size).toBe(3);
    expect(sim.vidEncoders.get(low)).toMatchObject({
      bitrate: { value: 500 },
      scaling_resolution: { value: 'RES_640X360' },
    });
    expect(sim.vidEncoders.get(mid)).toMatchObject({ bitrate: { value: 1000 } });
    expect(sim.vidEncoders.get(1)).toMatchObject({
      bitrate: { value: 2000 },
      scaling_resolution: { value: 'RES_1280X720' },
    });
    // One audio encoder for all.
    expect([30, 31, 32].map((id) => snap[id]!.audio_sources!.audio_source_ids)).toEqual([[1], [1], [1]]);

    const read = await driver.getConfig({ renditions: true });
    expect(read.renditions!.map((r) => r.target)).toEqual([srt('push:LOW'), srt('push:MID')]);
    expect(read.renditions![0]!.video).toMatchObject({ bitrateKbps: 500, width: 640, height: 360 });
    // Converged: nothing more to write.
    expect((await driver.applyConfig(VIDEON_ABR)).changes).toEqual([]);
    expect(sim.vidEncoders.size).toBe(3);
  });

  it('.start() and .stop() switch every configured slot; clearing a rendition disables and empties it', async () => {
    const { sim, driver } = await setupVideon();
    await driver.applyConfig(VIDEON_ABR);
    await driver.start();
    const enabled = () => [30, 31, 32].map((id) => sim.snapshot().outStreams[id]!.enable);
    expect(enabled()).toEqual([true, true, true]);
    await driver.applyConfig({ ...VIDEON_ABR, renditions: [VIDEON_ABR.renditions![0]!] });
    expect(enabled()).toEqual([true, true, false]);
    expect(sim.snapshot().outStreams[32]!.output_type.srt!.url).toBe('');
    await driver.stop();
    expect(enabled()).toEqual([false, false, false]);
  });

  it('a rendition written while live goes live', async () => {
    const { sim, driver } = await setupVideon();
    const { renditions: _, ...main } = VIDEON_ABR;
    await driver.applyConfig(main);
    await driver.start();
    await driver.applyConfig(VIDEON_ABR);
    expect([30, 31, 32].map((id) => sim.snapshot().outStreams[id]!.enable)).toEqual([true, true, true]);
  });

  it('refuses, before any write: RTMP renditions, a third rendition, audio of its own', async () => {
    const { sim, driver } = await setupVideon();
    const r = VIDEON_ABR.renditions![0]!;
    const cases: [EncoderConfig, RegExp][] = [
      [
        {
          ...VIDEON_ABR,
          renditions: [{ ...r, target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1/live', streamKey: 'k' } }],
        },
        /renditions\.0\.target\.protocol: videon renditions support srt; not rtmp/,
      ],
      [
        { ...VIDEON_ABR, renditions: [r, r, r] },
        /videon runs at most 3 outputs at once \(the main stream and 2 renditions\)/,
      ],
      [
        { ...VIDEON_ABR, renditions: [{ ...r, audio: { codec: 'aac', bitrateKbps: 64 } }] },
        /renditions\.0\.audio: videon renditions share the main stream's audio encoder/,
      ],
    ];
    for (const [config, message] of cases) {
      const err = await driver.applyConfig(config).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnsupportedConfigError);
      expect(String((err as Error).message)).toMatch(message);
    }
    expect(sim.effects.filter((e) => e.kind === 'config')).toEqual([]);
  });
});

describe('single-output drivers refuse renditions clearly', () => {
  it.each([teradekVidiu, teradekPrism])('$vendor', (module) => {
    const problems = checkCapabilities(module.capabilities, {
      target: ABR.target,
      renditions: ABR.renditions!,
    });
    expect(problems).toContainEqual({
      field: 'renditions',
      reason: `${module.vendor} runs one output: multi-bitrate renditions are not supported`,
    });
  });
});
