/** Opaque keyset-pagination cursors: the sort value and id of the last row of a page. */
export interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: string;
}

export class CursorError extends Error {}

export function encodeCursor(values: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string): unknown[] {
  try {
    const values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(values) && values.length === 2) return values;
  } catch {
    // fall through
  }
  throw new CursorError('cursor is not one this service issued');
}
