/**
 * The other clusters a node's transport may talk to (multi-cluster replication). Each is a realm with a
 * link secret of its own, which stands in for the cluster cookie on connections with its nodes; this
 * cluster's own cookie never leaves it.
 *
 * On such a connection both ends name each other with the realm in front: `<cluster id>/<node name>`.
 * Node names of different clusters may coincide, realm-qualified ones cannot, so the transport keeps
 * foreign peers apart from its own cluster's nodes. A foreign peer reaches only the actor paths listed
 * here; everything else it sends is refused.
 */

import { isRealmId } from '../../protocol/cluster/realm-names.js';

export class LinkRealms {
  private own: string | undefined;
  private readonly secrets = new Map<string, string>();
  private readonly admitted: ReadonlySet<string>;
  private readonly revokedListeners: Array<(realm: string) => void> = [];

  /** `admittedPaths`: the actor paths that nodes of other clusters may send to. */
  constructor(admittedPaths: readonly string[]) {
    this.admitted = new Set(admittedPaths);
  }

  /** This cluster's id, once known: what this node's name is qualified with on foreign links. */
  get self(): string | undefined {
    return this.own;
  }

  setSelf(clusterId: string): void {
    if (!isRealmId(clusterId)) throw new Error(`not a cluster id: ${clusterId}`);
    this.own = clusterId;
  }

  /**
   * Replaces every realm's secret at once (the manager's list of linked clusters). A realm removed, or
   * given another secret, is revoked: links opened with its old secret must not outlive it.
   */
  replaceAll(secrets: ReadonlyMap<string, string>): void {
    const before = new Map(this.secrets);
    this.secrets.clear();
    for (const [realm, secret] of secrets) if (isRealmId(realm) && secret.length > 0 && realm !== this.own) this.secrets.set(realm, secret);
    for (const [realm, secret] of before) {
      if (this.secrets.get(realm) === secret) continue;
      for (const listener of this.revokedListeners) listener(realm);
    }
  }

  /** Calls `listener` with each realm revoked from now on. */
  onRevoked(listener: (realm: string) => void): void {
    this.revokedListeners.push(listener);
  }

  secretFor(realm: string): string | undefined {
    return this.secrets.get(realm);
  }

  allSecrets(): string[] {
    return [...this.secrets.values()];
  }

  admits(path: string): boolean {
    return this.admitted.has(path);
  }
}
