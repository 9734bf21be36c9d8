/**
 * Builds what the CLI and browser tests run (the compiled service and CLI in dist/, the dashboard
 * in dist/web) once before the suite, so a fresh clone's `npm ci && npm test` works.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  const root = join(import.meta.dirname, '..');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
}
