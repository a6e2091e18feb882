/**
 * How nodes of linked clusters are named to each other: `<cluster id>/<node name>`. Node names of
 * different clusters may coincide; realm-qualified ones cannot (runtime/remote/link-realms.ts).
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
