import { createServer } from 'node:net';

/** An http:// URL on loopback where nothing listens (a port asked of the kernel, then released). */
export async function freePortUrl(): Promise<string> {
  const port = await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
  return `http://127.0.0.1:${port}`;
}
