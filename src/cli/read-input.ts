/** Files and JSON given on the command line; a problem is a usage error naming the file. */
import { readFile } from 'node:fs/promises';
import { UsageError } from './exit-codes.js';

export async function readText(path: string): Promise<string> {
  try {
    return path === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** `@file.json`, `-` (stdin) or inline JSON text. */
export async function readJson(value: string, what: string): Promise<unknown> {
  const text = value.startsWith('@')
    ? await readText(value.slice(1))
    : value === '-'
      ? await readStdin()
      : value;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
