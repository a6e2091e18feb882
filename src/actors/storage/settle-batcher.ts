/**
 * Collects the settles a coordinator owes each replica during one turn of the event loop and sends
 * them as one message, which the replica applies in one transaction: under load a settle costs a few
 * bytes instead of a message, an actor hop and a commit of its own.
 */
import type { Hlc } from '../../core/hlc.js';
import type { ObjectKind } from '../../core/object-meta.js';
import type { ActorApi } from '../../runtime/actor.js';
import { MAX_SETTLE_ITEMS, routerOf, type SettleItem } from '../../protocol/cluster/storage.js';

export class SettleBatcher {
  private pending = new Map<string, SettleItem[]>();
  private scheduled = false;

  constructor(private readonly system: Pick<ActorApi, 'dispatch'>) {}

  add(replica: string, objectKind: ObjectKind, bucket: string, key: string, clock: Hlc): void {
    let items = this.pending.get(replica);
    if (!items) {
      items = [];
      this.pending.set(replica, items);
    }
    items.push({ objectKind, bucket, key, clock });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const [replica, items] of pending) {
      for (let i = 0; i < items.length; i += MAX_SETTLE_ITEMS) {
        this.system.dispatch(routerOf(replica), { type: 'replica_settle_many', items: items.slice(i, i + MAX_SETTLE_ITEMS) });
      }
    }
  }
}
