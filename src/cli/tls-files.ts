/**
 * The PEM files of the cluster port's TLS, read once at start, with errors that name the file.
 */
import { readFileSync } from 'node:fs';
import type { TlsOptions } from '../runtime/remote/transport.js';
import { ConfigError, type TlsFiles } from './config.js';

/** A node gives all of them; an admin tool that only dials may give the CA alone. */
export function readTlsFiles(files: Partial<TlsFiles>): TlsOptions {
  const read = (path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read TLS file ${path}: ${(error as Error).message}`);
    }
  };
  return {
    ...(files.certFile ? { cert: read(files.certFile) } : {}),
    ...(files.keyFile ? { key: read(files.keyFile) } : {}),
    ...(files.caFile ? { ca: read(files.caFile) } : {}),
  };
}
