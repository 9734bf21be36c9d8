/**
 * Every device operation — job step, poll, single-device call — runs through here:
 *  - one driver per device, kept open (sessions and keep-alive connections are reused);
 *  - one serial lane per device, so two operations never interleave on one device;
 *  - one global bound on operations in flight, and optional per-vendor bounds.
 *
 * A device waits for its own lane before taking a global slot, so a busy device never holds
 * capacity that other devices could use.
 */
import PQueue from 'p-queue';
import type { DeviceEndpoint, EncoderDriver, VendorId } from '../../drivers/contract.js';

export interface DeviceLanesOptions {
  /** Operations in flight at once across the fleet. */
  readonly concurrency: number;
  /** Optional tighter bounds per vendor (e.g. a vendor whose devices share a slow management link). */
  readonly perVendor?: Partial<Record<VendorId, number>>;
  readonly createDriver: (endpoint: DeviceEndpoint) => EncoderDriver;
}

export interface LaneOptions {
  /**
   * Cancels the operation while it waits for its lane or a slot. Once running it is not
   * interrupted: a half-done device write is worse than a late cancel (the op can take its own signal).
   */
  readonly signal?: AbortSignal;
  /** Higher runs first when the global bound is reached (scheduled starts outrank polls). */
  readonly priority?: number;
}

interface OpenDriver {
  readonly driver: EncoderDriver;
  readonly key: string;
}

export class DeviceLanes {
  private readonly global: PQueue;
  private readonly vendorQueues = new Map<VendorId, PQueue>();
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly drivers = new Map<string, OpenDriver>();
  /** Operations waiting for a slot: each one's refusal, for close(). */
  private readonly waiting = new Set<() => void>();
  private closed = false;

  constructor(private readonly opts: DeviceLanesOptions) {
    this.global = new PQueue({ concurrency: opts.concurrency });
    for (const [vendor, limit] of Object.entries(opts.perVendor ?? {})) {
      this.vendorQueues.set(vendor as VendorId, new PQueue({ concurrency: limit }));
    }
  }

  /** Runs `op` on the device's driver, after every earlier operation on that device has finished. */
  run<T>(
    endpoint: DeviceEndpoint,
    op: (driver: EncoderDriver, signal?: AbortSignal) => Promise<T>,
    opts: LaneOptions = {},
  ): Promise<T> {
    const previous = this.tails.get(endpoint.id) ?? Promise.resolve();
    const result = previous.then(() => this.schedule(endpoint, op, opts));
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(endpoint.id, tail);
    void tail.then(() => {
      if (this.tails.get(endpoint.id) === tail) this.tails.delete(endpoint.id);
    });
    return result;
  }

  /** Operations waiting for or holding a global slot. */
  get pending(): number {
    return this.global.size + this.global.pending;
  }

  /** Closes the device's driver (after its lane drains), e.g. when the device is deleted or moved. */
  async forget(deviceId: string): Promise<void> {
    await this.tails.get(deviceId);
    const open = this.drivers.get(deviceId);
    this.drivers.delete(deviceId);
    await open?.driver.close();
  }

  /**
   * Refuses every operation still waiting (for its lane or a slot) and drops it from the queues,
   * waits for the running ones, then closes the drivers. (Clearing the queues alone would leave the
   * waiting operations, and so their lanes, pending forever.)
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const refuse of this.waiting) refuse();
    this.waiting.clear();
    this.global.clear();
    for (const queue of this.vendorQueues.values()) queue.clear();
    await Promise.allSettled([...this.tails.values()]);
    await Promise.allSettled([...this.drivers.values()].map((d) => d.driver.close()));
    this.drivers.clear();
  }

  private schedule<T>(
    endpoint: DeviceEndpoint,
    op: (driver: EncoderDriver) => Promise<T>,
    opts: LaneOptions,
  ): Promise<T> {
    // p-queue rejects a task's promise when its signal aborts even while the task runs (and the task
    // goes on regardless): the lane would let the device's next operation start beside it. So the
    // queues get a signal that aborts only while the operation is still waiting — and only for
    // callers with a signal: polls, a thousand a second, go without the listeners a signal costs.
    const { signal } = opts;
    const waiting = signal ? new AbortController() : undefined;
    const onAbort = () => waiting!.abort(signal!.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    return new Promise<T>((resolve, reject) => {
      const refuse = () => reject(new Error('device lanes closed'));
      if (this.closed) return refuse();
      this.waiting.add(refuse);
      const started = () => {
        this.waiting.delete(refuse);
        signal?.removeEventListener('abort', onAbort);
      };
      const task = () => {
        started();
        signal?.throwIfAborted();
        return op(this.driverFor(endpoint));
      };
      const inGlobal = () =>
        this.global.add(task, { priority: opts.priority ?? 0, signal: waiting?.signal }) as Promise<T>;
      const vendorQueue = this.vendorQueues.get(endpoint.vendor);
      const result = vendorQueue
        ? (vendorQueue.add(inGlobal, { signal: waiting?.signal }) as Promise<T>)
        : inGlobal();
      result.finally(started).then(resolve, reject);
    });
  }

  /** The open driver for this endpoint; reopened when the device's address or credentials changed. */
  private driverFor(endpoint: DeviceEndpoint): EncoderDriver {
    const key = JSON.stringify([
      endpoint.vendor,
      endpoint.host,
      endpoint.port,
      endpoint.tls,
      endpoint.credentials,
    ]);
    const open = this.drivers.get(endpoint.id);
    if (open?.key === key) return open.driver;
    if (open) void open.driver.close();
    const driver = this.opts.createDriver(endpoint);
    this.drivers.set(endpoint.id, { driver, key });
    return driver;
  }
}
