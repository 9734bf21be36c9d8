/** Schemas of device fields, shared by the API, the inventory and bulk import. */
import { Type } from '@sinclair/typebox';
import { VENDOR_IDS } from '../../drivers/contract.js';
import { LABEL_PATTERN } from './selector.js';

export const LabelMap = Type.Record(
  Type.String({ pattern: LABEL_PATTERN.source }),
  Type.String({ pattern: LABEL_PATTERN.source }),
  {
    maxProperties: 64,
    additionalProperties: false,
    description:
      'Labels, e.g. { "site": "berlin", "stage": "main" }: keys and values of 1–63 characters [A-Za-z0-9._/-].',
  },
);

export const Credentials = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 128 }),
    password: Type.String({ minLength: 1, maxLength: 256, description: 'Write-only.' }),
  },
  { additionalProperties: false },
);

export const DeviceName = Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f]+$' });
export const VendorField = Type.Union(
  VENDOR_IDS.map((v) => Type.Literal(v)),
  { description: 'Driver id.' },
);
export const DriftPolicyField = Type.Union([Type.Literal('report'), Type.Literal('heal')]);
