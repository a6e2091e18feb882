/**
 * How the HTTP server tells a request that node's parser gave up on its body (a chunk size line that is
 * not hexadecimal, say). Node reports that only to the server, as a client error on the socket, and then
 * delivers no more of the body: without this word the body's reader would wait for bytes that never come.
 */
import type { S3Error } from '../../protocol/s3/errors.js';

export class BodyFraming {
  private failure: S3Error | undefined;
  private readonly listeners = new Set<(error: S3Error) => void>();

  /** The error the body broke with, once it did. */
  get broken(): S3Error | undefined {
    return this.failure;
  }

  /** Reports that the rest of the body cannot be read; the first report counts. */
  break(error: S3Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    for (const listener of [...this.listeners]) listener(error);
  }

  /** Calls `listener` when the body breaks; the returned function stops that. */
  onBreak(listener: (error: S3Error) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
