/** Schemas referenced by id from route schemas; registered once, and listed as OpenAPI components. */
import { Type } from '@sinclair/typebox';
import { JobRecord, TaskRecord } from '../fleet/jobs/model.js';
import { ObservedState } from '../fleet/observed.js';
import { Guidance } from '../ingest/guidance.js';
import { ErrorReply } from './errors.js';
import { RunView, ScheduleView } from './schedule-views.js';
import {
  AuditEntryView,
  ConfigView,
  DeviceView,
  KeyView,
  ProfileView,
  SecretView,
  TargetView,
} from './views.js';

export const SHARED_SCHEMAS = [
  ErrorReply,
  Guidance,
  SecretView,
  TargetView,
  ConfigView,
  ObservedState,
  DeviceView,
  ProfileView,
  JobRecord,
  TaskRecord,
  ScheduleView,
  RunView,
  KeyView,
  AuditEntryView,
];

/** A page of items with the cursor for the next one. */
export function pageOf<T extends Parameters<typeof Type.Array>[0]>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    nextCursor: Type.Optional(
      Type.String({ description: 'Pass as `cursor` for the next page; absent on the last page.' }),
    ),
  });
}
