/**
 * The REST API's error body: the S3 error table's code and status, told as JSON, which is what a plain
 * HTTP client (curl, a script) reads most easily. A client that asks for XML in its Accept header gets
 * the S3 error document instead, so tools written against S3 keep working. Either way the answer says
 * it varies with Accept, so a cache between never hands one client's error document to the other.
 */
import { xmlErrorDocument, type ErrorContext, type ErrorDocument, type S3Error } from '../s3/errors.js';

const JSON_TYPE = 'application/json';
const XML_TYPES = ['application/xml', 'text/xml'];
/** Media ranges JSON answers: its own type and the wildcards that include it. */
const JSON_RANGES = [JSON_TYPE, 'application/*', '*/*'];

/**
 * `{"error":{"code","message","resource","requestId","details"}}`: resource when known, details (the S3
 * error's extra fields, such as Key or Condition) when there are any.
 */
export function errorJson(error: S3Error, context: ErrorContext): string {
  const resource = context.resource ?? error.resource;
  const details = Object.keys(error.fields).length > 0 ? { details: error.fields } : {};
  return JSON.stringify({
    error: { code: error.code, message: error.message, ...(resource === undefined ? {} : { resource }), requestId: context.requestId, ...details },
  });
}

/** JSON unless `accept` prefers XML to JSON. */
export function restErrorDocument(error: S3Error, context: ErrorContext, accept: string | undefined): ErrorDocument {
  const document = prefersXml(accept) ? xmlErrorDocument(error, context) : { contentType: JSON_TYPE, body: errorJson(error, context) };
  return { ...document, vary: 'Accept' };
}

/**
 * Whether an Accept header ranks an XML type above JSON. JSON wins ties, and the wildcards `*\/*` and
 * `application/*` rank it too: a client that takes anything is given JSON.
 */
export function prefersXml(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  let xml = 0;
  let json = 0;
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q)) continue;
    if (XML_TYPES.includes(type)) xml = Math.max(xml, q);
    else if (JSON_RANGES.includes(type)) json = Math.max(json, q);
  }
  return xml > 0 && xml > json;
}
