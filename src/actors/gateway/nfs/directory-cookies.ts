/**
 * Which key each directory cookie handed out stands for (directory-listing.ts): a bounded map, the
 * least recently remembered forgotten first. Its cookie verifier is new with every start of the
 * gateway, so a client holding cookies of an earlier start is told they are void.
 */
import { randomBytes } from 'node:crypto';
import { NFS3_COOKIEVERFSIZE } from '../../../protocol/nfs/nfs3-types.js';

export class DirectoryCookies {
  private readonly keys = new Map<string, string>();
  readonly verifier: Buffer;

  constructor(
    private readonly maxEntries: number,
    verifier: Buffer = randomBytes(NFS3_COOKIEVERFSIZE),
  ) {
    this.verifier = verifier;
  }

  remember(bucketTag: string, dirKey: string, cookie: bigint, key: string): void {
    const id = `${bucketTag}\0${dirKey}\0${cookie}`;
    this.keys.delete(id);
    this.keys.set(id, key);
    if (this.keys.size > this.maxEntries) this.keys.delete(this.keys.keys().next().value as string);
  }

  keyOf(bucketTag: string, dirKey: string, cookie: bigint): string | undefined {
    return this.keys.get(`${bucketTag}\0${dirKey}\0${cookie}`);
  }
}
