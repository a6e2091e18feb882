/**
 * The storage API with bodies read from the files of storage nodes on this machine (store/same-machine.ts):
 * a read with its body names this machine, a replica here that keeps the body in a file answers with
 * where it lies, and the gateway reads it there. Anything that goes wrong on the way (the file replaced
 * meanwhile, not readable by this process) is read again the ordinary way; where this process cannot
 * read those files at all, it stops asking.
 */
import type { BodyFileRef } from '../../core/body-file-ref.js';
import type { BodySlice } from '../../core/body-slice.js';
import type { ObjectKind } from '../../core/object-meta.js';
import type { Logger } from '../../runtime/logger.js';
import type { GetOptions, GetResult, StorageApi } from '../../protocol/cluster/storage-api.js';
import { NotABodyFile, readBodyFile } from '../../store/same-machine.js';

/** Errors that say this process cannot read the storage nodes' files here, now or later. */
const UNREADABLE_HERE = new Set(['EACCES', 'EPERM', 'ELOOP', 'ENOTDIR']);

export interface SameMachineCounts {
  /** Bodies read from a storage node's file. */
  readonly read: number;
  /** Bodies pointed at that had to be read the ordinary way after all. */
  readonly fellBack: number;
}

export class SameMachineReads implements StorageApi {
  private asking = true;
  private readCount = 0;
  private fellBackCount = 0;

  constructor(
    private readonly storage: StorageApi,
    private readonly machine: string,
    private readonly log: Logger,
    private readonly readFile: (ref: BodyFileRef, into?: Buffer) => Promise<Buffer> = readBodyFile,
  ) {}

  get counts(): SameMachineCounts {
    return { read: this.readCount, fellBack: this.fellBackCount };
  }

  readonly put: StorageApi['put'] = (...args) => this.storage.put(...args);
  readonly delete: StorageApi['delete'] = (...args) => this.storage.delete(...args);
  readonly list: StorageApi['list'] = (...args) => this.storage.list(...args);

  async get(kind: ObjectKind, bucket: string, key: string, options: GetOptions = {}): Promise<GetResult> {
    if (!options.withBody || !this.asking) return this.storage.get(kind, bucket, key, options);
    const result = await this.storage.get(kind, bucket, key, { ...options, fileOnMachine: this.machine });
    if (!result.ok || result.bodyFile === undefined) return result;
    const body = await this.read(result.bodyFile, options.bodySlice, options.lendBuffer);
    if (body !== undefined) return { ok: true, meta: result.meta, body };
    this.fellBackCount++;
    return this.storage.get(kind, bucket, key, options);
  }

  /** The bytes `ref` points at, `slice` of the body or all of it; undefined when they are to be read the ordinary way. */
  private async read(ref: BodyFileRef, slice: BodySlice | undefined, lendBuffer: GetOptions['lendBuffer']): Promise<Buffer | undefined> {
    const asked = slice === undefined ? ref.offset === 0 && ref.length === ref.fileBytes : ref.offset === slice.offsetBytes && ref.length === slice.lengthBytes;
    if (!asked) return this.stopAsking(ref, new NotABodyFile(`pointed at ${String(ref.length)} bytes from ${String(ref.offset)}, not the bytes asked for`));
    try {
      const body = await this.readFile(ref, lendBuffer?.(ref.length));
      this.readCount++;
      return body;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (error instanceof NotABodyFile || (code !== undefined && UNREADABLE_HERE.has(code))) return this.stopAsking(ref, error);
      // Anything else (ENOENT: a newer version replaced the file meanwhile; a damaged file) is this read's alone.
      return undefined;
    }
  }

  private stopAsking(ref: BodyFileRef, error: unknown): undefined {
    if (this.asking) this.log.warn('cannot read the body files of the storage nodes on this machine; they send bodies instead', { path: ref.path, error });
    this.asking = false;
    return undefined;
  }
}
