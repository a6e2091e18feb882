/**
 * The region a SigV4 request must be signed for. A gateway is the endpoint of its configured region and,
 * for requests on a bucket, of that bucket's region, as S3 sends a client to the bucket's own region:
 *
 * - a request on a bucket is signed for the bucket's region (its location constraint, else the
 *   configured region);
 * - GetBucketLocation may also be signed for the configured region, as S3's us-east-1 endpoint answers
 *   it for any bucket: it is how a client learns where a bucket is;
 * - ListBuckets is signed for the configured region;
 * - a request on a bucket that does not exist is held to no region: it is answered NoSuchBucket;
 * - CreateBucket is checked once its body, with the location it asks for, is read: it is signed for the
 *   configured region, or for the region it creates the bucket in.
 */
import type { BucketRecord } from '../../core/auth-snapshot.js';
import type { Authentication } from '../../protocol/s3/auth.js';
import type { S3Error } from '../../protocol/s3/errors.js';
import type { S3Operation } from '../../protocol/s3/router.js';
import { wrongRegionError } from '../../protocol/s3/sigv4.js';
import type { AuthView } from '../common/auth-view.js';

/** S3's name for the region of a bucket created with the legacy `EU` constraint. */
const LEGACY_LOCATIONS: Readonly<Record<string, string>> = { EU: 'eu-west-1' };

/** The region a bucket lives in: its location constraint, else the gateway's region. */
export function bucketRegion(bucket: BucketRecord, configuredRegion: string): string {
  return locationRegion(bucket.location, configuredRegion);
}

function locationRegion(location: string | undefined, configuredRegion: string): string {
  if (location === undefined || location === '') return configuredRegion;
  return LEGACY_LOCATIONS[location] ?? location;
}

export interface SigningRegions {
  /** The region a request is refused for not naming. */
  readonly expected: string;
  readonly alsoAccepted: readonly string[];
}

/** The regions a request may be signed for before its handler runs; undefined when none is checked yet. */
export function signingRegionsOf(view: AuthView, configuredRegion: string, operation: S3Operation): SigningRegions | undefined {
  switch (operation.type) {
    case 'ListBuckets':
      return { expected: configuredRegion, alsoAccepted: [] };
    case 'CreateBucket':
    case 'PreflightRequest':
      return undefined;
    default: {
      const bucket = view.bucket(operation.bucket);
      if (bucket === undefined) return undefined;
      const region = bucketRegion(bucket, configuredRegion);
      return { expected: region, alsoAccepted: operation.type === 'GetBucketLocation' ? [configuredRegion] : [] };
    }
  }
}

/** A CreateBucket signed for neither the gateway's region nor the region of the location it asks for. */
export function createBucketRegionProblem(auth: Authentication, configuredRegion: string, location: string | undefined): S3Error | undefined {
  if (auth.scheme !== 'sigv4-header' && auth.scheme !== 'sigv4-query') return undefined;
  if (auth.region === configuredRegion || auth.region === locationRegion(location, configuredRegion)) return undefined;
  return wrongRegionError(auth.presigned, auth.region, configuredRegion);
}
