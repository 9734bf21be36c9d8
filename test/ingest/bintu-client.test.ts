/**
 * The bintu client against a local fake of the documented API on loopback (never the internet).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BintuClient, BintuError } from '../../src/ingest/bintu-client.js';
import { FakeBintu } from '../helpers/fake-bintu.js';
import { freePortUrl } from '../helpers/ports.js';

describe('BintuClient', () => {
  const fake = new FakeBintu();
  let client: BintuClient;

  beforeAll(async () => {
    client = new BintuClient({ baseUrl: await fake.listen(), apiKey: fake.apiKey, timeoutMs: 2000 });
  });
  afterAll(async () => {
    await client.close();
    await fake.close();
  });

  it('.createStream() sends the API key and transcoding profiles; returns the ingest stream name', async () => {
    const stream = await client.createStream({
      transcodes: ['vtrans2-852x480x800x25', 'vtrans2-640x360x400x25'],
      tags: ['studio-a'],
    });
    expect(stream).toEqual({
      id: expect.any(String),
      state: 'idle',
      rtmpUrl: 'rtmp://bintu-stream.nanocosmos.de:1935/live',
      streamName: fake.streams.get(stream.id)!.streamname,
      tags: ['studio-a'],
    });
    expect(fake.requests.at(-1)).toEqual({
      method: 'POST',
      path: '/stream',
      apiKey: fake.apiKey,
      body: {
        transcodes: [{ profile: 'vtrans2-852x480x800x25' }, { profile: 'vtrans2-640x360x400x25' }],
        tags: ['studio-a'],
      },
    });
  });

  it('.getStream() reports the state', async () => {
    const { id } = await client.createStream();
    expect((await client.getStream(id)).state).toBe('idle');
    fake.streams.get(id)!.state = 'live';
    expect((await client.getStream(id)).state).toBe('live');
  });

  it("bintu's errors become BintuError with its message and status; the key never appears", async () => {
    const wrongKey = new BintuClient({ baseUrl: fake.url, apiKey: 'wrong-key-abcdef' });
    const err = await wrongKey.createStream().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BintuError);
    expect(err).toMatchObject({
      status: 403,
      message: 'bintu POST /stream: HTTP 403: Access denied (code 2001)',
    });
    expect(String((err as Error).message)).not.toContain('wrong-key');
    await wrongKey.close();
    await expect(client.getStream('no-such-id')).rejects.toMatchObject({ status: 404 });
  });

  it('a reply without the documented ingest data is an error, not a guess', async () => {
    fake.malformed = true;
    try {
      await expect(client.createStream()).rejects.toThrow(/does not match the documented shape: \/ingest/);
    } finally {
      fake.malformed = false;
    }
  });

  it('an unreachable bintu is a BintuError without status', async () => {
    const down = new BintuClient({ baseUrl: await freePortUrl(), apiKey: 'k', timeoutMs: 500 });
    await expect(down.createStream()).rejects.toMatchObject({ status: undefined });
    await expect(down.createStream()).rejects.toBeInstanceOf(BintuError);
    await down.close();
  });
});
