/**
 * Recent live figures per device (bitrate and stream state at each poll), kept in memory for the
 * dashboard's sparklines: a fixed ring per device, allocated at its first answered poll, so the
 * cost is bounded (60 samples ≈ 1 KB per device) and nothing is written to the store.
 */
import type { ObservedStream } from './observed.js';

export interface StatusSample {
  readonly at: string;
  readonly stream: ObservedStream;
  readonly bitrateKbps?: number;
}

const STREAMS: readonly ObservedStream[] = ['idle', 'starting', 'streaming', 'stopping', 'error', 'unknown'];

interface Ring {
  readonly at: Float64Array;
  /** NaN when the device reported no bitrate. */
  readonly bitrate: Float32Array;
  readonly stream: Uint8Array;
  next: number;
  size: number;
}

export class StatusSamples {
  private readonly rings = new Map<string, Ring>();

  constructor(private readonly capacity = 60) {}

  add(deviceId: string, stream: ObservedStream, bitrateKbps: number | undefined, at = Date.now()): void {
    let ring = this.rings.get(deviceId);
    if (!ring) {
      // A device that never answered has nothing to draw: no ring for it.
      if (stream === 'unknown') return;
      ring = {
        at: new Float64Array(this.capacity),
        bitrate: new Float32Array(this.capacity),
        stream: new Uint8Array(this.capacity),
        next: 0,
        size: 0,
      };
      this.rings.set(deviceId, ring);
    }
    ring.at[ring.next] = at;
    ring.bitrate[ring.next] = bitrateKbps ?? Number.NaN;
    ring.stream[ring.next] = Math.max(0, STREAMS.indexOf(stream));
    ring.next = (ring.next + 1) % this.capacity;
    ring.size = Math.min(ring.size + 1, this.capacity);
  }

  /** Oldest first. */
  get(deviceId: string): StatusSample[] {
    const ring = this.rings.get(deviceId);
    if (!ring) return [];
    const samples: StatusSample[] = [];
    for (let i = 0; i < ring.size; i++) {
      const k = (ring.next - ring.size + i + this.capacity) % this.capacity;
      const bitrate = ring.bitrate[k]!;
      samples.push({
        at: new Date(ring.at[k]!).toISOString(),
        stream: STREAMS[ring.stream[k]!]!,
        ...(Number.isNaN(bitrate) ? {} : { bitrateKbps: Math.round(bitrate * 10) / 10 }),
      });
    }
    return samples;
  }
}
