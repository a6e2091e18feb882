/**
 * The encodings S3 mixes: XML text escaping, listing `encoding-type=url`, SigV4's URI encoding and
 * strict percent-decoding of what clients send.
 */

/*
 * Keys are arbitrary UTF-8, so control characters are written as character references: a raw CR
 * would be normalised to LF by every XML parser and the client would see a different key.
 */
const NEEDS_ESCAPE = /[&<>"'\u0000-\u0008\u000b\u000c\u000d\u000e-\u001f\u007f\ufffe\uffff]/g;

/** Whether a UTF-16 code unit is in NEEDS_ESCAPE's class. */
function needsEscape(code: number): boolean {
  if (code < 0x7f) return code < 0x20 ? code !== 0x09 && code !== 0x0a : code === 0x26 || code === 0x3c || code === 0x3e || code === 0x22 || code === 0x27;
  return code === 0x7f || code >= 0xfffe;
}

function escapeChar(ch: string): string {
  switch (ch) {
    case '&':
      return '&amp;';
    case '<':
      return '&lt;';
    case '>':
      return '&gt;';
    case '"':
      return '&quot;';
    case "'":
      return '&apos;';
    default:
      return `&#x${ch.charCodeAt(0).toString(16).toUpperCase()};`;
  }
}

export function escapeXmlText(value: string): string {
  // Most text needs no escaping (a listing escapes every key), and a scan is cheaper than a pattern.
  for (let i = 0; i < value.length; i++) {
    if (needsEscape(value.charCodeAt(i))) return value.replace(NEEDS_ESCAPE, escapeChar);
  }
  return value;
}

const HEX = '0123456789ABCDEF';

/**
 * The encoding S3 applies to keys and prefixes in listings when `encoding-type=url` is asked for:
 * form encoding (space as `+`) of the UTF-8 bytes, leaving `/` and `*` alone and always encoding `~`.
 * Clients undo it with an unquote-plus, so `+` itself must come out as `%2B`.
 */
export function s3UrlEncode(value: string): string {
  const bytes = Buffer.from(value, 'utf8');
  let out = '';
  for (const b of bytes) {
    if (
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
      b === 0x2d || b === 0x2e || b === 0x5f || b === 0x2f || b === 0x2a
    ) {
      out += String.fromCharCode(b);
    } else if (b === 0x20) {
      out += '+';
    } else {
      out += '%' + HEX[b >> 4]! + HEX[b & 0xf]!;
    }
  }
  return out;
}

/**
 * RFC 3986 encoding as SigV4 canonicalisation wants it: unreserved characters stay, every other
 * UTF-8 byte becomes %XX with upper-case hex; `/` stays only when `keepSlash` is set.
 */
export function awsUriEncode(value: string, keepSlash: boolean): string {
  const bytes = Buffer.from(value, 'utf8');
  let out = '';
  for (const b of bytes) {
    if (
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
      b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e || (keepSlash && b === 0x2f)
    ) {
      out += String.fromCharCode(b);
    } else {
      out += '%' + HEX[b >> 4]! + HEX[b & 0xf]!;
    }
  }
  return out;
}

/**
 * Percent-decodes a path segment or query component; `+` is decoded as a space only when asked
 * (query strings are form-encoded, paths are not). Undefined when the bytes are not valid UTF-8
 * or a `%` is not followed by two hex digits.
 */
export function percentDecode(value: string, plusAsSpace: boolean): string | undefined {
  const text = plusAsSpace ? value.replace(/\+/g, ' ') : value;
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * The bytes a header-derived string stood for on the wire. node decodes header bytes as latin1
 * (one char per byte), so such strings are turned back into the same bytes; a string with wider
 * characters was built in JavaScript and is taken as UTF-8.
 */
export function wireBytes(text: string): Buffer {
  return Buffer.from(text, /[^\u0000-\u00ff]/.test(text) ? 'utf8' : 'latin1');
}

/** Trims spaces and tabs only: bytes such as 0xA0 inside a latin1-decoded UTF-8 value are data. */
export function trimHeaderValue(value: string): string {
  return value.replace(/^[ \t]+|[ \t]+$/g, '');
}
