/**
 * A lean S3 client for load generation: keep-alive HTTP, SigV4 with UNSIGNED-PAYLOAD (so the client
 * never hashes bodies), path-style addressing. It works against any S3 endpoint, so the same numbers
 * can be taken from other servers.
 */
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { canonicalQueryString, canonicalRequest, canonicalUri, deriveSigningKey, hmac, stringToSign, UNSIGNED_PAYLOAD } from '../../src/protocol/s3/sigv4.js';

export interface S3Endpoint {
  readonly url: URL;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly region: string;
}

export interface S3Response {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  /** Bytes received (also counted when the body is discarded). */
  readonly bodyBytes: number;
}

export class S3HttpClient {
  private readonly agent: Agent;
  private signingKey: { date: string; key: Buffer } | undefined;

  constructor(
    private readonly endpoint: S3Endpoint,
    maxSockets: number,
  ) {
    const options = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets };
    this.agent = endpoint.url.protocol === 'https:' ? new HttpsAgent(options) : new Agent(options);
  }

  /**
   * One signed request. `body` may be a Buffer or a stream of known length; `keepBody` false discards
   * the response body while counting it (large GETs must not fill the client's memory), a function
   * is given each piece of it instead (to hash it) and the body is not kept either. `extraHeaders`
   * (lower-case names) are sent and signed; an `x-amz-content-sha256` among them replaces
   * UNSIGNED-PAYLOAD (for a body framed aws-chunked).
   */
  send(
    method: string,
    path: string,
    query: string,
    body?: Buffer | { stream: Readable; length: number },
    keepBody: boolean | ((piece: Buffer) => void) = true,
    extraHeaders: Record<string, string> = {},
  ): Promise<S3Response> {
    const now = new Date();
    const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const date = amzDate.slice(0, 8);
    const host = this.endpoint.url.host;
    const payloadHash = extraHeaders['x-amz-content-sha256'] ?? UNSIGNED_PAYLOAD;
    const headers: Record<string, string> = { ...extraHeaders, host, 'x-amz-date': amzDate, 'x-amz-content-sha256': payloadHash };
    const length = body === undefined ? 0 : Buffer.isBuffer(body) ? body.length : body.length;
    if (body !== undefined || method === 'PUT' || method === 'POST') headers['content-length'] = String(length);
    const signed = [...new Set(['host', 'x-amz-content-sha256', 'x-amz-date', ...Object.keys(extraHeaders)])].sort();
    const canonical = canonicalRequest({ method, canonicalUri: canonicalUri(path) ?? path, canonicalQuery: canonicalQueryString(query) ?? '', headers, signedHeaders: signed, payloadHash });
    const scope = `${date}/${this.endpoint.region}/s3/aws4_request`;
    if (this.signingKey?.date !== date) this.signingKey = { date, key: deriveSigningKey(this.endpoint.secretKey, date, this.endpoint.region, 's3') };
    const signature = hmac(this.signingKey.key, stringToSign(amzDate, scope, canonical)).toString('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${this.endpoint.accessKey}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;

    const send = this.endpoint.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        { host: this.endpoint.url.hostname, port: this.endpoint.url.port, method, path: query ? `${path}?${query}` : path, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          let bodyBytes = 0;
          res.on('data', (chunk: Buffer) => {
            bodyBytes += chunk.length;
            if (typeof keepBody === 'function') keepBody(chunk);
            else if (keepBody) chunks.push(chunk);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), bodyBytes }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else body.stream.pipe(req);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Encodes a key for a path-style URL path: every byte but unreserved characters and '/'. */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}
