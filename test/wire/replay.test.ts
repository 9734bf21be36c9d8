/**
 * Wire-level driver tests: every recorded case under test/fixtures/<vendor>/ is replayed against
 * that vendor's driver through an intercepting dispatcher. No simulator, no real socket.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getDriverModule } from '../../drivers/index.js';
import { type LoadedCase, loadCases, mockDevice, REPLAY_ORIGIN, withAny } from './replay.js';

const root = join(import.meta.dirname, '..', 'fixtures');
const vendors = ['osprey-talon', 'teradek-vidiu', 'videon'] as const;

for (const vendor of vendors) {
  const byOperation = new Map<string, LoadedCase[]>();
  for (const c of loadCases(root, vendor))
    byOperation.set(c.operation, [...(byOperation.get(c.operation) ?? []), c]);

  describe(`wire: ${vendor}`, () => {
    for (const [operation, cases] of byOperation) {
      describe(operation, () => {
        for (const c of cases) {
          it(`${c.name}: ${c.description}`, async () => {
            const agent = mockDevice(c.exchanges);
            const driver = getDriverModule(vendor).create({
              endpoint: {
                id: `wire-${c.name}`,
                vendor,
                host: REPLAY_ORIGIN.host,
                port: REPLAY_ORIGIN.port,
                ...(c.credentials ? { credentials: c.credentials } : {}),
              },
              timeoutMs: c.timeoutMs ?? 500,
              dispatcher: agent,
            });
            try {
              const method = driver[c.call] as (...args: unknown[]) => Promise<unknown>;
              const outcome = await method.apply(driver, c.args ?? []).then(
                (result) => ({ result }),
                (error: unknown) => ({ error }),
              );
              if ('error' in c.expect) {
                expect('error' in outcome, `expected ${c.expect.error}, got a result`).toBe(true);
                const error = (outcome as { error: Error }).error;
                expect(error.constructor.name).toBe(c.expect.error);
                if (c.expect.message) expect(error.message).toContain(c.expect.message);
              } else {
                if ('error' in outcome) throw outcome.error;
                expect(outcome.result).toEqual(withAny(c.expect.result, expect.anything()));
              }
              agent.assertNoPendingInterceptors();
            } finally {
              await driver.close();
              await agent.close();
            }
          });
        }
      });
    }
  });
}
