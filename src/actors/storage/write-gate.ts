/**
 * Whether a storage node takes writes now, as its watchdog decides. Overloaded (memory or event-loop
 * delay past the refusal limit): it refuses to coordinate new writes, answering SlowDown so that
 * clients back off and retry. Read-only (its disk nearly full, before it is full): it refuses to store
 * versions that add data, answering InsufficientStorage, but still coordinates writes, which the other
 * replicas can take (the write succeeds when W of them do, and this node is repaired once it has room
 * again); deletes still pass, since they are how an operator frees space. Both lift by themselves once
 * the alarm clears.
 */
import type { Alarm } from '../../core/watchdog-rules.js';

export interface Refusal {
  readonly code: 'SlowDown' | 'InsufficientStorage';
  readonly message: string;
}

export class WriteGate {
  private overload: string | undefined;
  private full: string | undefined;

  /** Takes the watchdog's alarms as they stand. */
  apply(alarms: readonly Alarm[]): void {
    const refusing = alarms.filter((alarm) => alarm.level === 'refuse');
    this.overload = refusing.length > 0 ? refusing.map((alarm) => `${alarm.name}: ${alarm.message}`).join('; ') : undefined;
    const disk = alarms.find((alarm) => alarm.level === 'read_only');
    this.full = disk ? disk.message : undefined;
  }

  get readOnly(): string | undefined {
    return this.full;
  }

  get overloaded(): string | undefined {
    return this.overload;
  }

  /** For a client's write that this node would coordinate. */
  refuseCoordinated(): Refusal | undefined {
    if (this.overload) return { code: 'SlowDown', message: `this node is overloaded (${this.overload}); retry shortly` };
    return undefined;
  }

  /** For a version another node's coordinator or a repair sends here. */
  refuseReplica(deleting: boolean): Refusal | undefined {
    if (this.full && !deleting) return { code: 'InsufficientStorage', message: `this node is read-only, its disk nearly full (${this.full})` };
    return undefined;
  }
}
