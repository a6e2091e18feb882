/**
 * How the secrets of links with other clusters are kept at rest: the managers' `linked_clusters`
 * table stores each link with `sealedSecret` (see secret-box.ts) in place of `secret`, so a backup or
 * a copied state file alone does not open a link to this cluster.
 */
import type { LinkedCluster } from '../protocol/cluster/cluster-link.js';
import type { RecordCodec } from './node-state.js';
import type { SecretBox } from './secret-box.js';

type SealedLink = Omit<LinkedCluster, 'secret'> & { readonly sealedSecret: Uint8Array };

function isSealedLink(stored: unknown): stored is SealedLink {
  return typeof stored === 'object' && stored !== null && (stored as { sealedSecret?: unknown }).sealedSecret instanceof Uint8Array;
}

/** Bound into the seal, so a sealed secret moved to another record (or a user's) does not open. */
const contextOf = (clusterId: unknown): string => `link:${String(clusterId)}`;

export function sealedLinkCodec(box: SecretBox): RecordCodec<LinkedCluster> {
  return {
    encode: ({ secret, ...rest }) => ({ ...rest, sealedSecret: box.seal(secret, contextOf(rest.clusterId)) }),
    decode: (stored) => {
      if (!isSealedLink(stored)) return stored;
      const { sealedSecret, ...rest } = stored;
      return { ...rest, secret: box.open(sealedSecret, contextOf(stored.clusterId)) };
    },
    isOutdated: (stored) => !isSealedLink(stored),
  };
}
