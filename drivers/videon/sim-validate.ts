/**
 * The checks the simulated Videon applies to a PUT body, answered as the device answers them: a
 * reason text for a 400. The ranges and enums come from `wire.ts`; which of them a real unit enforces
 * is [INF] (the vendor says possible values vary per model).
 */
import {
  AAC,
  AUDIO_BITRATE_KBPS,
  type AudioEncoder,
  GENERIC_RTMP,
  KEYFRAME_FRAMES,
  MIX_MODES,
  type OutStream,
  parseServiceData,
  RESOLUTIONS,
  SRT_ENCRYPTION,
  VIDEO_BITRATE_KBPS,
  VIDEO_CODECS,
  type VideoEncoder,
} from './wire.js';

/** [INF] Services the simulator knows; `aws_ivs` is seen in public code. */
const SERVICES = [GENERIC_RTMP, 'aws_ivs'];
const BITRATE_MODES = ['variable', 'constant'];
const LATENCY_MODES = ['LOWEST', 'LOW', 'NORMAL', 'HIGH'];
const SRT_MODES = ['caller', 'listener'];

export function checkVideoEncoder(enc: VideoEncoder): string | undefined {
  const codecs: string[] = Object.values(VIDEO_CODECS);
  if (!codecs.includes(enc.codec.value)) return `codec.value: must be one of ${codecs.join(', ')}`;
  const { value: kbps } = enc.bitrate;
  if (!Number.isInteger(kbps) || kbps < VIDEO_BITRATE_KBPS.min || kbps > VIDEO_BITRATE_KBPS.max)
    return `bitrate.value: must be an integer from ${VIDEO_BITRATE_KBPS.min} to ${VIDEO_BITRATE_KBPS.max}`;
  const sizes = RESOLUTIONS.map((r) => `RES_${r.width}X${r.height}`);
  if (!sizes.includes(enc.scaling_resolution.value))
    return `scaling_resolution.value: must be one of ${sizes.join(', ')}`;
  const kf = enc.keyframe_interval;
  if (kf.unit === 'FRAMES' && (kf.interval < KEYFRAME_FRAMES.min || kf.interval > KEYFRAME_FRAMES.max))
    return `keyframe_interval.interval: must be ${KEYFRAME_FRAMES.min} to ${KEYFRAME_FRAMES.max} frames`;
  if (kf.unit === 'MILLISECONDS' && (kf.interval < 100 || kf.interval > 10_000))
    return 'keyframe_interval.interval: must be 100 to 10000 ms';
  if (enc.bitrate_mode && !BITRATE_MODES.includes(enc.bitrate_mode.value))
    return `bitrate_mode.value: must be one of ${BITRATE_MODES.join(', ')}`;
  if (enc.latency_mode && !LATENCY_MODES.includes(enc.latency_mode.value))
    return `latency_mode.value: must be one of ${LATENCY_MODES.join(', ')}`;
  return undefined;
}

export function checkAudioEncoder(enc: AudioEncoder): string | undefined {
  if (enc.codec.value !== AAC) return `codec.value: must be ${AAC}`;
  // The device's own quirk: the audio bitrate is a string.
  if (typeof enc.bitrate.value !== 'string') return 'bitrate.value: must be a string';
  const kbps = Number(enc.bitrate.value);
  if (kbps < AUDIO_BITRATE_KBPS.min || kbps > AUDIO_BITRATE_KBPS.max)
    return `bitrate.value: must be from ${AUDIO_BITRATE_KBPS.min} to ${AUDIO_BITRATE_KBPS.max}`;
  const mixes: string[] = Object.values(MIX_MODES);
  if (enc.mix_mode && !mixes.includes(enc.mix_mode.value))
    return `mix_mode.value: must be one of ${mixes.join(', ')}`;
  if (enc.bitrate_mode && !BITRATE_MODES.includes(enc.bitrate_mode.value))
    return `bitrate_mode.value: must be one of ${BITRATE_MODES.join(', ')}`;
  return undefined;
}

/** Checks a whole out_stream against the slot it replaces; `encoders` lists existing source ids. */
export function checkOutStream(
  next: OutStream,
  slotType: string,
  encoders: { video: readonly number[]; audio: readonly number[] },
): string | undefined {
  const type = next.output_type;
  if (type.value !== slotType) return `output_type.value: this slot is ${slotType}`;
  for (const id of next.video_sources?.video_source_ids ?? [])
    if (!encoders.video.includes(id)) return `video_sources: no video encoder ${id}`;
  for (const id of next.audio_sources?.audio_source_ids ?? [])
    if (!encoders.audio.includes(id)) return `audio_sources: no audio encoder ${id}`;
  let hasDestination = true;
  if (slotType === 'rtmp') {
    if (!type.rtmp) return 'output_type.rtmp: required';
    const { service } = type.rtmp;
    if (!SERVICES.includes(service.value)) return `output_type.rtmp.service.value: unknown service`;
    const data = parseServiceData(service.data);
    if (!data) return 'output_type.rtmp.service.data: not a valid JSON object';
    if (service.value === GENERIC_RTMP) {
      const url = data.url ?? '';
      if (typeof url !== 'string') return 'output_type.rtmp.service.data.url: must be a string';
      if (url !== '' && !/^rtmps?:\/\/[^\s/]+\/\S+$/.test(url))
        return 'output_type.rtmp.service.data.url: must be rtmp[s]://host/app/key';
      hasDestination = url !== '';
    }
  } else if (slotType === 'srt') {
    const srt = type.srt;
    if (!srt) return 'output_type.srt: required';
    if (!SRT_MODES.includes(srt.mode.value)) return `output_type.srt.mode.value: must be caller or listener`;
    if (srt.url !== '' && !/^srt:\/\/\S+$/.test(srt.url)) return 'output_type.srt.url: must be srt://host';
    if (srt.port < 1 || srt.port > 65535) return 'output_type.srt.port: must be 1 to 65535';
    if (srt.latency_ms < 20 || srt.latency_ms > 8000) return 'output_type.srt.latency_ms: must be 20 to 8000';
    if ((srt.stream_id ?? '').length > 512) return 'output_type.srt.stream_id: at most 512 characters';
    const encryption = srt.encryption?.value ?? 'NONE';
    if (!(SRT_ENCRYPTION as readonly string[]).includes(encryption))
      return `output_type.srt.encryption.value: must be one of ${SRT_ENCRYPTION.join(', ')}`;
    const pass = srt.passphrase ?? '';
    if (encryption !== 'NONE' && (pass.length < 10 || pass.length > 79))
      return 'output_type.srt.passphrase: must be 10 to 79 characters when encrypted';
    hasDestination = srt.url !== '';
  }
  if (next.enable && !hasDestination) return 'enable: the output has no destination';
  return undefined;
}
