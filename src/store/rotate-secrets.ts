/**
 * Key rotation: re-encrypts every stored secret under the box's current key, in one transaction (a
 * failed rotation changes nothing). The box must still hold the old key among its previous keys.
 *
 * Where secrets live (extend this list when a migration adds one):
 *   devices.password                          one token
 *   devices.overrides, devices.base_config    config JSON with tokens in the target's secret fields
 *                                             (renditions' targets and nanoStream stream names too)
 *   profiles.config, profile_versions.config  config JSON (history keeps old stream keys too)
 *   jobs.config, job_tasks.config             config JSON
 *   schedules.config                          config JSON
 */
import { sql } from 'kysely';
import type { SecretBox } from '../security/secrets.js';
import type { Store } from './index.js';
import { resealJson } from './secret-fields.js';

export interface RotationResult {
  /** Rows whose secrets were re-encrypted. */
  readonly rows: number;
  readonly keyId: string;
}

export async function rotateSecrets(store: Store, box: SecretBox): Promise<RotationResult> {
  const db = store.db.kysely;
  const rows = await db.transaction().execute(async (tx) => {
    let changed = 0;
    const resealToken = (token: string | null) =>
      token !== null && box.isStale(token) ? box.encrypt(box.decrypt(token)) : null;

    for (const d of await tx
      .selectFrom('devices')
      .select(['id', 'password', 'overrides', 'base_config'])
      .execute()) {
      const password = resealToken(d.password);
      const overrides = resealJson(d.overrides, box);
      const base = resealJson(d.base_config, box);
      if (password === null && overrides === null && base === null) continue;
      // version and updated_at stay: the device itself did not change.
      await tx
        .updateTable('devices')
        .set({
          ...(password ? { password } : {}),
          ...(overrides ? { overrides } : {}),
          ...(base ? { base_config: base } : {}),
        })
        .where('id', '=', d.id)
        .execute();
      changed++;
    }
    for (const p of await tx.selectFrom('profiles').select(['id', 'config']).execute()) {
      const config = resealJson(p.config, box);
      if (config === null) continue;
      await tx.updateTable('profiles').set({ config }).where('id', '=', p.id).execute();
      changed++;
    }
    for (const v of await tx
      .selectFrom('profile_versions')
      .select(['profile_id', 'version', 'config'])
      .execute()) {
      const config = resealJson(v.config, box);
      if (config === null) continue;
      await tx
        .updateTable('profile_versions')
        .set({ config })
        .where('profile_id', '=', v.profile_id)
        .where('version', '=', v.version)
        .execute();
      changed++;
    }
    for (const j of await tx
      .selectFrom('jobs')
      .select(['id', 'config'])
      .where('config', 'is not', null)
      .execute()) {
      const config = resealJson(j.config, box);
      if (config === null) continue;
      await tx.updateTable('jobs').set({ config }).where('id', '=', j.id).execute();
      changed++;
    }
    for (const t of await tx
      .selectFrom('job_tasks')
      .select(['job_id', 'device_id', 'config'])
      .where('config', 'is not', null)
      .execute()) {
      const config = resealJson(t.config, box);
      if (config === null) continue;
      await tx
        .updateTable('job_tasks')
        .set({ config })
        .where('job_id', '=', t.job_id)
        .where('device_id', '=', t.device_id)
        .execute();
      changed++;
    }
    for (const s of await tx
      .selectFrom('schedules')
      .select(['id', 'config'])
      .where('config', 'is not', null)
      .execute()) {
      const config = resealJson(s.config, box);
      if (config === null) continue;
      await tx.updateTable('schedules').set({ config }).where('id', '=', s.id).execute();
      changed++;
    }
    return changed;
  });
  // SQLite keeps overwritten pages (old ciphertext) in the file until they are reused; rewrite it.
  if (store.backend === 'sqlite') {
    await sql`vacuum`.execute(db);
    await sql`pragma wal_checkpoint(TRUNCATE)`.execute(db);
  }
  return { rows, keyId: box.currentKeyId };
}
