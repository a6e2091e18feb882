/**
 * Whether this node can take its share of the work, for load balancers and service managers
 * (`/health/ready`). The node's parts report what they know here; the report is read on each probe.
 *
 * A lost manager does not make a node unready: the manager is not in the data path, and a gateway or
 * storage node keeps serving on its last ring (its copy is durable). Taking every node out of the load
 * balancer because the manager went away would turn a control-plane failure into an outage. The
 * report says the ring is unconfirmed meanwhile.
 */
import type { Role } from '../../protocol/cluster/roles.js';
import type { RingView } from './ring-view.js';

export interface HealthCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface HealthReport {
  readonly node: string;
  readonly role: Role;
  readonly ready: boolean;
  readonly checks: readonly HealthCheck[];
}

export class NodeHealth {
  private started = false;
  private joinedManager: string | undefined;
  private managerUp = false;
  private readonly extraChecks: Array<() => HealthCheck> = [];

  constructor(
    readonly node: string,
    readonly role: Role,
    private readonly ringView: RingView,
  ) {}

  markStarted(): void {
    this.started = true;
  }

  /** The manager answered this node's join. */
  markJoined(manager: string): void {
    this.joinedManager = manager;
    this.managerUp = true;
  }

  /** The manager this node joined through, once it has. */
  get manager(): string | undefined {
    return this.joinedManager;
  }

  managerLink(up: boolean): void {
    this.managerUp = up;
  }

  /** A condition of the role's own (a storage node that refuses writes, say). */
  addCheck(check: () => HealthCheck): void {
    this.extraChecks.push(check);
  }

  report(): HealthReport {
    const checks: HealthCheck[] = [{ name: 'started', ok: this.started, detail: this.started ? 'the supervision tree is up' : 'starting' }];
    if (this.role !== 'manager') {
      const epoch = this.ringView.current?.doc.epoch;
      // A node restarted while the manager is away serves on the ring it stored when it last joined.
      checks.push(
        this.joinedManager !== undefined
          ? { name: 'joined', ok: true, detail: `joined through ${this.joinedManager}${this.managerUp ? '' : ' (manager unreachable now)'}` }
          : epoch !== undefined
            ? { name: 'joined', ok: true, detail: 'not yet since it started (manager unreachable); serving on the ring it stored when it last joined' }
            : { name: 'joined', ok: false, detail: 'has not reached the manager yet' },
      );
      checks.push(
        epoch === undefined
          ? { name: 'ring', ok: false, detail: 'no ring yet' }
          : { name: 'ring', ok: true, detail: this.managerUp ? `epoch ${epoch}, current` : `epoch ${epoch}, unconfirmed while the manager is unreachable` },
      );
    }
    for (const check of this.extraChecks) checks.push(check());
    return { node: this.node, role: this.role, ready: checks.every((check) => check.ok), checks };
  }
}
