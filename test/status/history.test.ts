/** GET /v1/devices/:id/history: bitrate samples from the polls and persisted state changes. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { addFleet, type FleetSetup } from '../helpers/fleet.js';
import { startService, type TestService } from '../helpers/service.js';

describe('device history', () => {
  let svc: TestService;
  let f: FleetSetup;
  beforeAll(async () => {
    svc = await startService({ env: { POLL_INTERVAL_MS: '1000' } });
    f = await addFleet(svc, { 'osprey-talon': 1 });
  });
  afterAll(async () => {
    await svc.close();
    await f.fleet.close();
  });

  it('keeps the bitrate of each poll and the state changes, newest change first', async () => {
    const id = f.ids[0]!;
    await svc.request('PUT', `/v1/devices/${id}/config`, {
      target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'HIST-1' },
      video: { codec: 'h264', bitrateKbps: 3000 },
    });
    expect((await svc.request('POST', `/v1/devices/${id}/start`)).status).toBe(200);
    const history = await vi.waitFor(
      async () => {
        const res = await svc.request('GET', `/v1/devices/${id}/history`);
        expect(res.status).toBe(200);
        expect(res.body.samples.some((s: any) => s.stream === 'streaming' && s.bitrateKbps > 0)).toBe(true);
        // State changes reach the store in batches.
        expect(res.body.changes.some((c: any) => c.stream === 'streaming')).toBe(true);
        return res.body;
      },
      { timeout: 10_000, interval: 250 },
    );
    const times = history.samples.map((s: any) => Date.parse(s.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(history.changes[0]).toMatchObject({ connectivity: 'online', stream: 'streaming' });
    const changeTimes = history.changes.map((c: any) => Date.parse(c.at));
    expect(changeTimes).toEqual([...changeTimes].sort((a, b) => b - a));
    expect((await svc.request('GET', '/v1/devices/nope/history')).status).toBe(404);
  });
});
