/**
 * GET /v1/fleet/summary: the fleet at a glance — counts by vendor × state, firmware versions per
 * model, open alerts, drift.
 */
import { Type } from '@sinclair/typebox';
import type { FleetMonitor } from '../../fleet/monitor.js';
import type { StatusTracker } from '../../fleet/status-tracker.js';
import { inScope } from '../../security/auth.js';
import type { Api } from '../server.js';

const Counts = Type.Record(Type.String(), Type.Integer());

export function fleetRoutes(app: Api, deps: { monitor: FleetMonitor; tracker: StatusTracker }): void {
  app.get(
    '/v1/fleet/summary',
    {
      config: { permission: 'fleet:read' },
      schema: {
        operationId: 'fleetSummary',
        summary:
          'Counts by vendor × connectivity / stream / sync, firmware per model, open alerts and drifted devices',
        tags: ['fleet'],
        response: {
          200: Type.Object({
            devices: Type.Integer(),
            byVendor: Type.Record(
              Type.String(),
              Type.Object({ total: Type.Integer(), connectivity: Counts, stream: Counts, sync: Counts }),
            ),
            stream: Counts,
            connectivity: Counts,
            firmware: Type.Record(Type.String(), Counts, {
              description:
                'Devices per model and firmware version, for firmware audits (units not read yet are left out).',
              examples: [{ 'Talon 4K-SC': { '2.4.1': 38, '2.5.0': 2 } }],
            }),
            alerts: Type.Array(
              Type.Object({
                deviceId: Type.String(),
                name: Type.String(),
                kind: Type.String(),
                severity: Type.String(),
                message: Type.String(),
                since: Type.String(),
              }),
            ),
            drifted: Type.Array(
              Type.Object({
                deviceId: Type.String(),
                name: Type.String(),
                fields: Type.Array(Type.String()),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const byVendor: Record<
        string,
        {
          total: number;
          connectivity: Record<string, number>;
          stream: Record<string, number>;
          sync: Record<string, number>;
        }
      > = {};
      const stream: Record<string, number> = {};
      const connectivity: Record<string, number> = {};
      const firmware: Record<string, Record<string, number>> = {};
      const alerts = [];
      const drifted = [];
      let devices = 0;
      const bump = (counts: Record<string, number>, key: string) => {
        counts[key] = (counts[key] ?? 0) + 1;
      };
      for (const d of deps.monitor.allDevices()) {
        if (!inScope(request, d)) continue;
        devices++;
        const s = deps.tracker.get(d.id);
        byVendor[d.vendor] ??= { total: 0, connectivity: {}, stream: {}, sync: {} };
        const v = byVendor[d.vendor]!;
        v.total++;
        bump(v.connectivity, s.connectivity);
        bump(v.stream, s.stream);
        bump(v.sync, s.sync);
        bump(stream, s.stream);
        bump(connectivity, s.connectivity);
        if (s.model) {
          firmware[s.model] ??= {};
          bump(firmware[s.model]!, s.firmware ?? 'unknown');
        }
        for (const a of s.alerts)
          alerts.push({
            deviceId: d.id,
            name: d.name,
            kind: a.kind,
            severity: a.severity,
            message: a.message,
            since: a.since,
          });
        if (s.sync === 'drifted')
          drifted.push({ deviceId: d.id, name: d.name, fields: s.drift.map((f) => f.field) });
      }
      return { devices, byVendor, stream, connectivity, firmware, alerts, drifted };
    },
  );
}
