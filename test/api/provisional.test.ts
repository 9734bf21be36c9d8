/**
 * PROVISIONAL_OPERATIONS=refuse: operations whose wire format is inferred fail as unsupported before
 * anything is sent; the documented ones keep working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addFleet, type FleetSetup, finishedJob } from '../helpers/fleet.js';
import { startService, type TestService } from '../helpers/service.js';

describe('PROVISIONAL_OPERATIONS=refuse', () => {
  let svc: TestService;
  let f: FleetSetup;

  beforeAll(async () => {
    svc = await startService({ env: { PROVISIONAL_OPERATIONS: 'refuse' } });
    f = await addFleet(svc, { 'osprey-talon': 1, 'teradek-vidiu': 1 });
  });
  afterAll(async () => {
    await svc.close();
    await f.fleet.close();
  });

  it('refuses a provisional write per device, naming the switch, and sends nothing', async () => {
    const job = await svc.request('POST', '/v1/jobs', {
      action: 'apply',
      selector: 'fleet=test',
      config: { target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1/live', streamKey: 'provisional-key' } },
      options: { retries: 0 },
    });
    const { tasks } = await finishedJob(svc, job.body.id);
    expect(tasks).toHaveLength(2);
    for (const task of tasks) {
      expect(task.state).toBe('failed');
      expect(task.error.type).toBe('unsupported');
      expect(task.error.message).toContain('PROVISIONAL_OPERATIONS=refuse');
      const sim = f.simOf.get(task.deviceId)!;
      expect(JSON.stringify(sim.snapshot())).not.toContain('provisional-key');
    }
  });

  it('keeps the documented operations: the VidiU (documented status) is polled online', async () => {
    const vidiu = f.ids.find((id) => f.simOf.get(id)!.vendor === 'teradek-vidiu')!;
    await expect
      .poll(async () => (await svc.request('GET', `/v1/devices/${vidiu}/status`)).body.connectivity, {
        timeout: 5000,
      })
      .toBe('online');
  });
});
