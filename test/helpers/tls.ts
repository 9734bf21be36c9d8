/**
 * TLS for device tests: a self-signed certificate made in the test (for 127.0.0.1), and a loopback
 * TLS front that terminates TLS and passes the plain bytes to a simulator, as an encoder's own
 * HTTPS server would. Works for HTTP and for WebSocket upgrades alike.
 */
import { X509Certificate } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { createServer, type Server } from 'node:tls';
import selfsigned from 'selfsigned';

export interface TestCertificate {
  readonly cert: string;
  readonly key: string;
  /** SHA-256 fingerprint, upper-case hex with colons (as the service stores it). */
  readonly fingerprint256: string;
}

export async function selfSignedCertificate(): Promise<TestCertificate> {
  const made = await selfsigned.generate([{ name: 'commonName', value: 'encoder.test' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  });
  return {
    cert: made.cert,
    key: made.private,
    fingerprint256: new X509Certificate(made.cert).fingerprint256,
  };
}

export interface TlsFront {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 with `certificate` and forwards each connection to `target`. */
export async function tlsFront(
  target: { host: string; port: number },
  certificate: TestCertificate,
): Promise<TlsFront> {
  const sockets = new Set<Socket>();
  const front = {
    host: '127.0.0.1',
    port: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer({ cert: certificate.cert, key: certificate.key }, (secure) => {
    const plain = connect(target.port, target.host);
    for (const s of [secure, plain]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        secure.destroy();
        plain.destroy();
      });
    }
    secure.pipe(plain).pipe(secure);
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  front.port = (server.address() as { port: number }).port;
  return front;
}
