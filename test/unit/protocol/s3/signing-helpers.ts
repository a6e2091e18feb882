/** Shared by the signature tests: the AWS documentation's example credentials and a SHA-256 for smithy. */
export { NodeSha256 } from '../../../support/node-sha256.js';

export const DOC_ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE';
export const DOC_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
/** 20130524T000000Z, the time of every SigV4 example in the S3 documentation. */
export const DOC_TIME = Date.UTC(2013, 4, 24, 0, 0, 0);

export const lookupDocSecret = (id: string): string | undefined => (id === DOC_ACCESS_KEY ? DOC_SECRET : undefined);



/** Percent-encoding as the AWS SDKs apply it to each path segment and query component. */
export function sdkEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function flipOneByte(text: string, at: number): string {
  const code = text.charCodeAt(at);
  return text.slice(0, at) + String.fromCharCode(code === 0x61 ? 0x62 : 0x61) + text.slice(at + 1);
}
