/**
 * Sealing of secrets kept at rest (users' secret access keys in the manager's and gateways' state).
 * SigV4 and SigV2 need the secret itself, so it cannot be stored as a one-way hash; it is encrypted
 * instead, with a key derived from the cluster cookie, so that a copied state file alone reveals no
 * secret. Every node of a cluster derives the same key, and nothing but the cookie needs keeping.
 *
 * A sealed value is `version (1 byte) | nonce (12) | ciphertext | GCM tag (16)`: AES-256-GCM under
 * HKDF-SHA256(cookie), a random nonce per value. A context (the access key id) is bound in as
 * associated data, so a sealed secret moved to another record no longer opens.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes as cryptoRandomBytes } from 'node:crypto';

const FORMAT_V1 = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** Fixed: changing it changes every node's key and leaves stored secrets unreadable. */
const KEY_INFO = 'leofs-ts secrets at rest v1';

/** A sealed value that does not open: another key (the cookie changed), or damaged bytes. */
export class SecretUnreadable extends Error {
  override readonly name = 'SecretUnreadable';
}

export class SecretBox {
  private constructor(
    private readonly key: Buffer,
    private readonly random: (size: number) => Uint8Array,
  ) {}

  static fromCookie(cookie: string, random: (size: number) => Uint8Array = cryptoRandomBytes): SecretBox {
    return new SecretBox(Buffer.from(hkdfSync('sha256', Buffer.from(cookie, 'utf8'), Buffer.alloc(0), KEY_INFO, KEY_BYTES)), random);
  }

  seal(plain: string, context: string): Uint8Array {
    const nonce = Buffer.from(this.random(NONCE_BYTES));
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.of(FORMAT_V1), nonce, body, cipher.getAuthTag()]);
  }

  /** The plain text; throws SecretUnreadable when `sealed` was not sealed by this key for `context`. */
  open(sealed: Uint8Array, context: string): string {
    if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES) throw new SecretUnreadable('sealed value is too short');
    if (sealed[0] !== FORMAT_V1) throw new SecretUnreadable(`unknown sealed value format ${sealed[0]}`);
    const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    const nonce = bytes.subarray(1, 1 + NONCE_BYTES);
    const tag = bytes.subarray(bytes.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, nonce);
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(bytes.subarray(1 + NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretUnreadable('sealed value does not open with this key');
    }
  }
}
