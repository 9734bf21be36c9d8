/**
 * Which devices this replica polls, when several replicas share one PostgreSQL. The fleet is cut
 * into a fixed number of shards by device id; every live replica wants the shards that rendezvous
 * hashing gives it among the live members, and polls a shard only while it holds that shard's lease:
 *
 *  - every `leaseMs / 5` it heartbeats, gives up the shards another member should now poll (after its
 *    own polls of them have finished), and takes or renews the leases on its own;
 *  - a lease can be taken only once it has expired or been released, so no two replicas poll a
 *    device at once; a replica that cannot renew stops starting polls `marginMs` (the longest a poll
 *    can take) before its leases lapse;
 *  - a replica that dies stops heartbeating: within `leaseMs` its membership and leases expire and
 *    the others take its shards at their next round; a clean shutdown releases them at once.
 */
import type { Logger } from 'pino';
import type { PollLeaseRepo } from '../store/poll-leases.js';

export const SHARD_COUNT = 64;

export interface PollOwnershipOptions {
  readonly repo: PollLeaseRepo;
  readonly instanceId: string;
  readonly leaseMs: number;
  readonly marginMs: number;
  readonly logger: Logger;
  /**
   * The set of owned shards changed. Awaited before a released shard's lease is given up, so it must
   * return only once polls of the devices no longer owned have finished.
   */
  readonly onChange: () => Promise<void>;
}

export class PollOwnership {
  private owned = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: PollOwnershipOptions) {}

  owns(deviceId: string): boolean {
    return this.owned.has(shardOf(deviceId));
  }

  /** Shards held now. */
  get size(): number {
    return this.owned.size;
  }

  /** Joins and takes this replica's share (as far as it is free) before returning. */
  async start(): Promise<void> {
    await this.renew();
    this.timer = setInterval(() => void this.renew(), Math.max(100, Math.floor(this.opts.leaseMs / 5)));
    this.timer.unref();
  }

  /** Stops polling everything, then hands every lease back so the other replicas take over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.round;
    clearTimeout(this.expiryTimer);
    await this.setOwned(new Set());
    await this.opts.repo
      .leave(this.opts.instanceId)
      .catch((err: unknown) => this.opts.logger.warn({ err }, 'releasing poll leases failed'));
  }

  private renew(): Promise<void> {
    this.round ??= this.doRenew()
      .catch((err: unknown) => this.opts.logger.warn({ err }, 'renewing poll leases failed; will retry'))
      .finally(() => {
        this.round = undefined;
      });
    return this.round;
  }

  private async doRenew(): Promise<void> {
    const { repo, instanceId, leaseMs } = this.opts;
    const started = Date.now();
    const now = new Date(started);
    const until = new Date(started + leaseMs);
    const members = await repo.heartbeat(instanceId, until, now);
    const wanted = shardsOf(instanceId, members);
    const giveUp = [...this.owned].filter((s) => !wanted.has(s));
    if (giveUp.length) {
      await this.setOwned(new Set([...this.owned].filter((s) => wanted.has(s))));
      await repo.release(instanceId, giveUp);
    }
    if (this.stopped) return;
    const held = await repo.claim(instanceId, [...wanted], until, now);
    this.armExpiry(started + leaseMs - this.opts.marginMs);
    await this.setOwned(new Set(held));
  }

  /** If no renewal lands before `at`, stop polling: another replica may take the shards soon after. */
  private armExpiry(at: number): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(
      () => {
        if (!this.owned.size) return;
        this.opts.logger.warn(
          { shards: this.owned.size },
          'poll leases not renewed in time; stopped polling',
        );
        void this.setOwned(new Set());
      },
      Math.max(0, at - Date.now()),
    );
    this.expiryTimer.unref();
  }

  private async setOwned(next: Set<number>): Promise<void> {
    const changed = next.size !== this.owned.size || [...next].some((s) => !this.owned.has(s));
    this.owned = next;
    if (changed) {
      this.opts.logger.info({ shards: next.size, of: SHARD_COUNT }, 'poll shards changed');
      await this.opts.onChange();
    }
  }
}

/** The shard of a device: a stable hash of its id. */
export function shardOf(deviceId: string): number {
  let h = 2166136261;
  for (let i = 0; i < deviceId.length; i++) h = Math.imul(h ^ deviceId.charCodeAt(i), 16777619);
  return (h >>> 0) % SHARD_COUNT;
}

/**
 * The shards `me` should poll among `members` (rendezvous hashing: each shard goes to the member
 * with the highest score for it, so a member joining or leaving moves only its own share).
 */
export function shardsOf(me: string, members: readonly string[]): Set<number> {
  const mine = new Set<number>();
  for (let shard = 0; shard < SHARD_COUNT; shard++) {
    let best = '';
    let bestScore = -1;
    for (const member of members) {
      const score = scoreOf(member, shard);
      if (score > bestScore || (score === bestScore && member < best)) {
        best = member;
        bestScore = score;
      }
    }
    if (best === me) mine.add(shard);
  }
  return mine;
}

function scoreOf(member: string, shard: number): number {
  let h = 2166136261 ^ Math.imul(shard + 1, 2654435761);
  for (let i = 0; i < member.length; i++) h = Math.imul(h ^ member.charCodeAt(i), 16777619);
  // Final avalanche, so members whose ids differ only at the end still spread evenly.
  h ^= h >>> 16;
  h = Math.imul(h, 2246822507);
  h ^= h >>> 13;
  return h >>> 0;
}
