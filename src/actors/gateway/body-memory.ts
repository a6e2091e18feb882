/**
 * The gateway's budget for bodies in flight: chunk buffers of uploads and pieces read ahead for
 * downloads, across all requests. A request that would go over it waits, which slows its client down
 * through TCP, so the gateway's memory stays bounded however many large transfers run at once.
 *
 * Each request draws on the budget through an account of its own, and the budget is shared fairly, so
 * that a few clients that hold memory while sending slowly cannot starve everyone else:
 * - the requests of one user (or all anonymous ones) together hold at most `userLimitBytes`, always:
 *   memory taken while nobody else wanted it is not given back by a slow client, so a cap that only
 *   bit once others wait would come too late;
 * - while others wait, a request holding more than its share (the budget divided among the requests
 *   holding or waiting) gets no more, and is asked to give back what it holds idle;
 * - a request holding nothing may always take its first grant within those caps, so every request can
 *   progress with one chunk or piece at a time.
 * Waiters are served in order, except that a waiter held back by its user's cap or its share is passed
 * over until they allow it. A grant larger than the whole budget (or cap) is given when nothing else is
 * held, and no later waiter overtakes it meanwhile, so one oversized request never waits forever.
 *
 * Memory kept idle for reuse (finished uploads' chunk buffers, see chunk-buffers.ts) counts against
 * the budget too, and is the first to go: a request that needs room makes the keeper let go of idle
 * buffers before it waits for anyone. A buffer let go of stays resident until V8 collects it, as any
 * released body does.
 */

/** One request's draw on the body memory. */
export interface BodyMemoryAccount {
  /** Bytes this account holds now. */
  readonly heldBytes: number;
  /** Others wait while this account holds more than its share: it should give back what it can spare. */
  readonly overShare: boolean;
  /** Takes `bytes` now if they may be had; returns whether it did. */
  tryAcquire(bytes: number): boolean;
  /** Takes `bytes`, waiting in line until they may be had. */
  acquire(bytes: number): Promise<void>;
  release(bytes: number): void;
  /**
   * Calls `giveBack` whenever another request starts waiting while this one is over its share, so
   * memory held idle (a spare buffer) can be returned at once. Returns the way to stop.
   */
  onContention(giveBack: () => void): () => void;
}

export interface AccountOptions {
  /**
   * Counts against the user's cap (default). The source reader of a copy does not: its own writer,
   * which does count, drains it, and capping both could leave each waiting on the other.
   */
  readonly capped?: boolean;
}

/** What an account asks of the budget it draws on: one per budget, shared by its accounts. */
interface Budget {
  tryAcquire(holder: Holder, bytes: number): boolean;
  acquire(holder: Holder, bytes: number): Promise<void>;
  release(holder: Holder, bytes: number): void;
  overShare(holder: Holder): boolean;
}

/** An account, and what the budget keeps of it. A class: every request makes one. */
class Holder implements BodyMemoryAccount {
  heldBytes = 0;
  /** Grants this account waits for. */
  waits = 0;
  readonly giveBack = new Set<() => void>();

  constructor(
    readonly userId: string,
    readonly capped: boolean,
    private readonly budget: Budget,
  ) {}

  get overShare(): boolean {
    return this.budget.overShare(this);
  }

  tryAcquire(bytes: number): boolean {
    return this.budget.tryAcquire(this, bytes);
  }

  acquire(bytes: number): Promise<void> {
    return this.budget.acquire(this, bytes);
  }

  release(bytes: number): void {
    this.budget.release(this, bytes);
  }

  onContention(giveBack: () => void): () => void {
    this.giveBack.add(giveBack);
    return () => this.giveBack.delete(giveBack);
  }
}

/** Whether another request than `holder` waits for memory it could use. */
type Contention = (holder: Holder) => boolean;

interface Waiter {
  readonly holder: Holder;
  readonly bytes: number;
  readonly grant: () => void;
}

/** Asked to let go of at least `bytes` of idle memory; reports what it let go of through `releaseIdle`. */
export type IdleReclaimer = (bytes: number) => void;

export class BodyMemory {
  private usedBytes = 0;
  /** Memory kept idle for reuse, counted against the budget on top of `usedBytes`. */
  private idleBytes = 0;
  private reclaimIdle: IdleReclaimer | undefined;
  private reclaiming = false;
  private readonly waiters: Waiter[] = [];
  /** Bytes held by each user that holds any. */
  private readonly byUser = new Map<string, number>();
  /** Accounts holding memory or waiting for it: the budget is shared among them. */
  private readonly active = new Set<Holder>();
  private pressing = false;
  private readonly budget: Budget = {
    tryAcquire: (holder, bytes) => this.tryAcquire(holder, bytes),
    acquire: (holder, bytes) => this.acquire(holder, bytes),
    release: (holder, bytes) => this.release(holder, bytes),
    overShare: (holder) => this.overShare(holder),
  };

  constructor(readonly limitBytes: number, readonly userLimitBytes: number = limitBytes) {}

  /** Bytes granted and not yet released. */
  get inUseBytes(): number {
    return this.usedBytes;
  }

  /** Bytes kept idle for reuse. */
  get keptIdleBytes(): number {
    return this.idleBytes;
  }

  /** Counts `bytes` more kept idle, if the budget has room for them now; returns whether it did. */
  keepIdle(bytes: number): boolean {
    if (this.usedBytes + this.idleBytes + bytes > this.limitBytes) return false;
    this.idleBytes += bytes;
    return true;
  }

  /** `bytes` of idle memory were let go of, or handed to a request that had acquired them. */
  releaseIdle(bytes: number): void {
    this.idleBytes = Math.max(0, this.idleBytes - bytes);
    // Memory reclaimed for a grant being decided goes to that grant, not to whoever waits.
    if (!this.reclaiming) this.serveWaiters();
  }

  /** Who to ask for idle memory back when a request needs room. */
  setIdleReclaimer(reclaim: IdleReclaimer | undefined): void {
    this.reclaimIdle = reclaim;
  }

  /** Bytes granted to the requests of `userId` and not yet released. */
  userBytes(userId: string): number {
    return this.byUser.get(userId) ?? 0;
  }

  /** A new account for one request of `userId` (`anonymous` for anonymous requests). */
  account(userId: string, options: AccountOptions = {}): BodyMemoryAccount {
    return new Holder(userId, options.capped ?? true, this.budget);
  }

  private tryAcquire(holder: Holder, bytes: number): boolean {
    // No overtaking: a waiter that may have memory once there is room is served first.
    let contended: Contention | undefined;
    const contention = (): Contention => (contended ??= this.contention());
    if (this.waiters.some((w) => w.holder !== holder && this.eligible(w, contention))) return false;
    if (!this.eligible({ holder, bytes }, contention) || !this.withinBudget(bytes)) return false;
    this.take(holder, bytes);
    return true;
  }

  private acquire(holder: Holder, bytes: number): Promise<void> {
    if (this.tryAcquire(holder, bytes)) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push({ holder, bytes, grant: resolve });
      holder.waits++;
      this.active.add(holder);
      this.pressOthers();
    });
  }

  private release(holder: Holder, bytes: number): void {
    const released = Math.min(Math.max(0, bytes), holder.heldBytes);
    holder.heldBytes -= released;
    this.usedBytes -= released;
    const userHeld = this.userBytes(holder.userId) - released;
    if (userHeld > 0) this.byUser.set(holder.userId, userHeld);
    else this.byUser.delete(holder.userId);
    if (holder.heldBytes === 0 && holder.waits === 0) this.active.delete(holder);
    this.serveWaiters();
  }

  private take(holder: Holder, bytes: number): void {
    holder.heldBytes += bytes;
    this.usedBytes += bytes;
    this.byUser.set(holder.userId, this.userBytes(holder.userId) + bytes);
    this.active.add(holder);
  }

  private serveWaiters(): void {
    let contended: Contention | undefined;
    for (let i = 0; i < this.waiters.length; ) {
      const waiter = this.waiters[i]!;
      if (!this.eligible(waiter, () => (contended ??= this.contention()))) {
        i++;
        continue;
      }
      if (!this.withinBudget(waiter.bytes)) break;
      this.waiters.splice(i, 1);
      waiter.holder.waits--;
      this.take(waiter.holder, waiter.bytes);
      contended = undefined;
      waiter.grant();
    }
  }

  /** Whether `holder` may have `bytes` as far as its user's cap and its share go. */
  private eligible({ holder, bytes }: { readonly holder: Holder; readonly bytes: number }, contention = () => this.contention()): boolean {
    return this.withinUserCap(holder, bytes) && this.withinShare(holder, bytes, contention);
  }

  private withinBudget(bytes: number): boolean {
    const over = this.usedBytes + this.idleBytes + bytes - this.limitBytes;
    if (over > 0 && this.idleBytes > 0 && this.reclaimIdle !== undefined && !this.reclaiming) {
      this.reclaiming = true;
      try {
        this.reclaimIdle(over);
      } finally {
        this.reclaiming = false;
      }
    }
    return this.usedBytes + this.idleBytes + bytes <= this.limitBytes || this.usedBytes === 0;
  }

  private withinUserCap(holder: Holder, bytes: number): boolean {
    if (!holder.capped) return true;
    const held = this.userBytes(holder.userId);
    return held === 0 || held + bytes <= this.userLimitBytes;
  }

  private withinShare(holder: Holder, bytes: number, contention: () => Contention): boolean {
    return holder.heldBytes === 0 || holder.heldBytes + bytes <= this.shareBytes() || !contention()(holder);
  }

  private shareBytes(): number {
    return this.limitBytes / Math.max(1, this.active.size);
  }

  /**
   * Tells for any account whether another request waits for memory it could use: one its user's cap
   * allows, or one of the same user (whose cap this account's holding may be what stops it). One pass
   * over the waiters answers for every account.
   */
  private contention(): Contention {
    let capAllowed = 0;
    const byUser = new Map<string, { all: number; capAllowed: number }>();
    for (const { holder, bytes } of this.waiters) {
      const allowed = this.withinUserCap(holder, bytes);
      if (allowed) capAllowed++;
      const counts = byUser.get(holder.userId) ?? { all: 0, capAllowed: 0 };
      counts.all++;
      if (allowed) counts.capAllowed++;
      byUser.set(holder.userId, counts);
    }
    return (holder) => {
      const own = byUser.get(holder.userId) ?? { all: 0, capAllowed: 0 };
      return capAllowed - own.capAllowed + own.all - holder.waits > 0;
    };
  }

  private overShare(holder: Holder, contention = () => this.contention()): boolean {
    return holder.heldBytes > this.shareBytes() && contention()(holder);
  }

  /** Someone started waiting: accounts over their share give back what they hold idle, on a later turn. */
  private pressOthers(): void {
    if (this.pressing) return;
    this.pressing = true;
    queueMicrotask(() => {
      this.pressing = false;
      let contended: Contention | undefined;
      for (const holder of [...this.active]) {
        if (holder.giveBack.size === 0 || !this.overShare(holder, () => (contended ??= this.contention()))) continue;
        for (const giveBack of [...holder.giveBack]) giveBack();
        contended = undefined;
      }
    });
  }
}
