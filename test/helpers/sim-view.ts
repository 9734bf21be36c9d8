/**
 * What a simulated device holds, read from the simulator's own state (not through our drivers), in
 * one vendor-neutral shape, so fleet tests can check "configured and streaming" on every vendor.
 */

import type { TalonSim } from '../../drivers/osprey-talon/simulator.js';
import type { SimDevice } from '../../drivers/sim/device.js';
import type { PrismSim } from '../../drivers/teradek/prism/simulator.js';
import type { VidiuSim } from '../../drivers/teradek/vidiu/simulator.js';
import { KEYS } from '../../drivers/teradek/vidiu/wire.js';
import type { VideonSim } from '../../drivers/videon/simulator.js';
import { parseServiceData } from '../../drivers/videon/wire.js';

export interface SimView {
  /** The protocol the device will stream with; undefined when no destination is set. */
  readonly protocol?: 'rtmp' | 'srt' | 'whip';
  /** Where it streams: the RTMP URL (with the key, where the device joins them), SRT host:port, WHIP URL. */
  readonly destination?: string;
  /** RTMP stream key, SRT stream id, WHIP bearer token (as the device holds it). */
  readonly key?: string;
  readonly videoBitrateKbps?: number;
  readonly streaming: boolean;
}

export function simView(sim: SimDevice): SimView {
  switch (sim.vendor) {
    case 'osprey-talon':
      return talonView(sim as TalonSim);
    case 'videon':
      return videonView(sim as VideonSim);
    case 'teradek-vidiu':
      return vidiuView(sim as VidiuSim);
    case 'teradek-prism':
      return prismView(sim as PrismSim);
  }
}

function talonView(sim: TalonSim): SimView {
  const { channels, states } = sim.snapshot();
  const { output, video } = channels[0]!;
  const streaming = states[0] === 'RUNNING' || states[0] === 'STARTING';
  const base = { videoBitrateKbps: video.bitrate_kbps, streaming };
  switch (output.upstream_protocol) {
    case 'RTMP':
      return { ...base, protocol: 'rtmp', destination: output.rtmp.url, key: output.rtmp.stream_key };
    case 'TS_OVER_SRT':
      return {
        ...base,
        protocol: 'srt',
        destination: `${output.srt.destination_address}:${output.srt.port}`,
        // The Talon takes the stream id URL-encoded (see its wire.ts).
        key: decodeURIComponent(output.srt.stream_id),
      };
    case 'WHIP':
      return { ...base, protocol: 'whip', destination: output.whip.endpoint, key: output.whip.bearer_token };
    default:
      return base;
  }
}

function videonView(sim: VideonSim): SimView {
  const { outStreams, vid } = sim.snapshot();
  const base = { videoBitrateKbps: vid.bitrate.value, streaming: false };
  for (const os of Object.values(outStreams)) {
    const { rtmp, srt } = os.output_type;
    const live = os.enable;
    if (rtmp) {
      const url = parseServiceData(rtmp.service.data)?.url;
      if (typeof url === 'string' && url) {
        const key = url.slice(url.lastIndexOf('/') + 1);
        return { ...base, protocol: 'rtmp', destination: url, key, streaming: live };
      }
    }
    if (srt?.url) {
      return {
        ...base,
        protocol: 'srt',
        destination: `${srt.url.replace(/^srt:\/\//, '')}:${srt.port}`,
        key: srt.stream_id,
        streaming: live,
      };
    }
  }
  return base;
}

function vidiuView(sim: VidiuSim): SimView {
  const { settings, state } = sim.snapshot();
  const url = settings[KEYS.rtmpUrl];
  return {
    videoBitrateKbps: Number(settings[KEYS.videoBitrate]),
    streaming: state === 'Live' || state === 'Starting',
    ...(url ? { protocol: 'rtmp' as const, destination: url, key: settings[KEYS.rtmpStream] } : {}),
  };
}

function prismView(sim: PrismSim): SimView {
  const { settings, state } = sim.snapshot();
  const mode = settings.video.codec === 'H.265' ? settings.modes['mode-hevc'] : settings.modes['mode-h264'];
  const base = {
    videoBitrateKbps: Math.round(settings.video.bitrate / 1000),
    streaming: state === 'Live' || state === 'Starting',
  };
  if (mode === 'RTMP')
    return { ...base, protocol: 'rtmp', destination: settings.rtmp.url, key: settings.rtmp.stream };
  if (mode === 'SRT')
    return {
      ...base,
      protocol: 'srt',
      destination: `${settings.srt.host}:${settings.srt.port}`,
      key: settings.srt.streamid,
    };
  return base;
}
