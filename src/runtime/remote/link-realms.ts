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

export const REALM_SEPARATOR = '/';

/** `node` as the nodes of other clusters know it, when it belongs to the cluster `realm`. */
export function foreignName(realm: string, node: string): string {
  return `${realm}${REALM_SEPARATOR}${node}`;
}

/** The realm of a realm-qualified name; undefined for a node of this cluster. */
export function realmOf(name: string): string | undefined {
  const at = name.indexOf(REALM_SEPARATOR);
  return at > 0 ? name.slice(0, at) : undefined;
}

/** A realm id: what cluster ids look like (letters, digits, `_` and `-`), so it can never hold the separator. */
export function isRealmId(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(value);
}

export class LinkRealms {
  private own: string | undefined;
  private readonly secrets = new Map<string, string>();
  private readonly admitted: ReadonlySet<string>;

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

  /** Replaces every realm's secret at once (the manager's list of linked clusters). */
  replaceAll(secrets: ReadonlyMap<string, string>): void {
    this.secrets.clear();
    for (const [realm, secret] of secrets) if (isRealmId(realm) && secret.length > 0 && realm !== this.own) this.secrets.set(realm, secret);
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
