/**
 * Poll leases on both backends: a shard is held by one owner at a time, renewable by its owner,
 * taken over only after it expired or was released; members are alive until their heartbeat lapses.
 * And the rendezvous split: every shard to exactly one member, a member leaving moves only its own.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SHARD_COUNT, shardOf, shardsOf } from '../../src/fleet/poll-ownership.js';
import { BACKENDS, openTestStore, type TestStore } from '../helpers/store.js';

const at = (ms: number) => new Date(Date.UTC(2030, 0, 1) + ms);

describe.each(BACKENDS)('poll leases on %s', (backend) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await openTestStore(backend);
  });
  afterEach(async () => {
    await t.dispose();
  });

  it('gives a shard to one owner until its lease expires or is released', async () => {
    const leases = t.store.pollLeases;
    expect(await leases.claim('a', [1, 2, 3], at(10_000), at(0))).toEqual([1, 2, 3]);
    // B cannot take what A holds, but gets the free shard.
    expect(await leases.claim('b', [2, 3, 4], at(11_000), at(1000))).toEqual([4]);
    // A renews its own.
    expect(await leases.claim('a', [1, 2, 3], at(15_000), at(5000))).toEqual([1, 2, 3]);
    // A released 3; its lease on 2 expired (A stopped renewing).
    await leases.release('a', [3]);
    expect(await leases.claim('b', [2, 3], at(26_000), at(16_000))).toEqual([2, 3]);
    expect(await leases.claim('a', [1, 2, 3], at(27_000), at(17_000))).toEqual([1]);
    // Releasing everything of an owner leaves the others' leases alone.
    await leases.release('b');
    expect(await leases.claim('a', [2, 3, 4], at(28_000), at(18_000))).toEqual([2, 3, 4]);
  });

  it('counts a member alive until its heartbeat lapses, and forgets it when it leaves', async () => {
    const leases = t.store.pollLeases;
    expect(await leases.heartbeat('a', at(10_000), at(0))).toEqual(['a']);
    expect((await leases.heartbeat('b', at(12_000), at(2000))).sort()).toEqual(['a', 'b']);
    expect(await leases.heartbeat('b', at(21_000), at(11_000))).toEqual(['b']);
    await leases.claim('b', [5], at(21_000), at(11_000));
    await leases.leave('b');
    expect(await leases.heartbeat('c', at(22_000), at(12_000))).toEqual(['c']);
    expect(await leases.claim('c', [5], at(22_000), at(12_000))).toEqual([5]);
  });
});

describe('rendezvous split of the shards', () => {
  const members = ['vm-1a2b3c4d', 'vm-5e6f7a8b', 'vm-9c0d1e2f'];

  it('gives every shard to exactly one member, about evenly', () => {
    const shares = members.map((m) => shardsOf(m, members));
    for (let s = 0; s < SHARD_COUNT; s++) expect(shares.filter((share) => share.has(s))).toHaveLength(1);
    for (const share of shares) expect(share.size).toBeGreaterThan(SHARD_COUNT / members.length / 2);
  });

  it('moves only the leaving member’s shards to the others', () => {
    const before = members.map((m) => shardsOf(m, members));
    const after = members.slice(0, 2).map((m) => shardsOf(m, members.slice(0, 2)));
    for (const [i, share] of after.entries()) for (const s of before[i]!) expect(share.has(s)).toBe(true);
    expect(after[0]!.size + after[1]!.size).toBe(SHARD_COUNT);
  });

  it('puts a device in a stable shard', () => {
    expect(shardOf('0b6d7b1e-7c55-4a39-9d0f-5a3ad0a7b6c1')).toBe(
      shardOf('0b6d7b1e-7c55-4a39-9d0f-5a3ad0a7b6c1'),
    );
    expect(shardOf('x')).toBeGreaterThanOrEqual(0);
    expect(shardOf('x')).toBeLessThan(SHARD_COUNT);
  });
});
