/**
 * Versioned migrations, applied in order at start-up, the same for both backends. Adding one = add a
 * file and list it here; never edit a migration that has shipped.
 */
import type { Migration } from 'kysely';
import { inventory } from './001-inventory.js';
import { jobs } from './002-jobs.js';
import { eventsWebhooks } from './003-events-webhooks.js';
import { schedules } from './004-schedules.js';
import { security } from './005-security.js';
import { nanostreamIngest } from './006-nanostream-ingest.js';
import { pollLeases } from './007-poll-leases.js';
import { deviceIdentity } from './008-device-identity.js';
import type { Dialect } from './dialect.js';

export function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '001-inventory': inventory(dialect),
    '002-jobs': jobs(),
    '003-events-webhooks': eventsWebhooks(dialect),
    '004-schedules': schedules(),
    '005-security': security(dialect),
    '006-nanostream-ingest': nanostreamIngest(),
    '007-poll-leases': pollLeases(),
    '008-device-identity': deviceIdentity(),
  };
}
