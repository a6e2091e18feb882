/**
 * The messages the shell sends are typed by hand, so they are read leniently, in the manner of JSON5:
 * keys without quotes, strings in single quotes, trailing commas and comments are accepted besides
 * plain JSON; a bare word is a message of that type (`ping` is `{type: 'ping'}`). Replies are printed
 * as JSON, with byte strings and big integers made printable.
 */

export type ParseResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problem: string };

const BARE_TYPE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const IDENTIFIER = /[A-Za-z_$][A-Za-z0-9_$]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

class Problem extends Error {}

/** A message: an object (or a bare word naming its type). */
export function parseMessage(text: string): ParseResult {
  const trimmed = text.trim();
  if (trimmed.length === 0) return { ok: false, problem: 'no message given' };
  if (BARE_TYPE.test(trimmed) && !['true', 'false', 'null'].includes(trimmed)) return { ok: true, value: { type: trimmed } };
  const parsed = parseLenientJson(trimmed);
  if (!parsed.ok) return parsed;
  const value = parsed.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, problem: 'a message is an object, e.g. {type: "ping"}' };
  if (typeof (value as { type?: unknown }).type !== 'string') return { ok: false, problem: 'a message needs a string type, e.g. {type: "ping"}' };
  return parsed;
}

export function parseLenientJson(text: string): ParseResult {
  let at = 0;
  const fail = (what: string): never => {
    throw new Problem(`${what} at column ${at + 1}`);
  };
  const skip = (): void => {
    for (;;) {
      while (at < text.length && /\s/.test(text[at]!)) at++;
      if (text.startsWith('//', at)) {
        const end = text.indexOf('\n', at);
        at = end < 0 ? text.length : end + 1;
      } else if (text.startsWith('/*', at)) {
        const end = text.indexOf('*/', at + 2);
        if (end < 0) fail('unclosed comment');
        at = end + 2;
      } else {
        return;
      }
    }
  };
  const string = (): string => {
    const quote = text[at]!;
    at++;
    let out = '';
    while (at < text.length && text[at] !== quote) {
      if (text[at] !== '\\') {
        out += text[at++];
        continue;
      }
      const escaped = text[at + 1];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '0': '\0' };
      if (escaped === 'u') {
        const hex = text.slice(at + 2, at + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        at += 6;
      } else if (escaped !== undefined) {
        out += simple[escaped] ?? escaped;
        at += 2;
      } else {
        at++;
      }
    }
    if (at >= text.length) fail(`unclosed ${quote}`);
    at++;
    return out;
  };
  const value = (): unknown => {
    skip();
    const char = text[at];
    if (char === undefined) return fail('a value is missing');
    if (char === '{') return object();
    if (char === '[') return array();
    if (char === '"' || char === "'") return string();
    NUMBER.lastIndex = at;
    const number = NUMBER.exec(text);
    if (number) {
      at += number[0].length;
      return Number(number[0]);
    }
    IDENTIFIER.lastIndex = at;
    const word = IDENTIFIER.exec(text)?.[0];
    if (word === 'true' || word === 'false' || word === 'null') {
      at += word.length;
      return word === 'true' ? true : word === 'false' ? false : null;
    }
    return fail(word ? `unexpected word ${word} (quote strings)` : `unexpected ${JSON.stringify(char)}`);
  };
  const object = (): Record<string, unknown> => {
    at++;
    const out: Record<string, unknown> = {};
    for (;;) {
      skip();
      if (text[at] === '}') {
        at++;
        return out;
      }
      let key: string;
      if (text[at] === '"' || text[at] === "'") {
        key = string();
      } else {
        IDENTIFIER.lastIndex = at;
        const word = IDENTIFIER.exec(text)?.[0];
        if (!word) return fail('expected a key');
        key = word;
        at += word.length;
      }
      skip();
      if (text[at] !== ':') fail(`expected : after ${key}`);
      at++;
      // A key from the wire must not reach the prototype.
      Object.defineProperty(out, key, { value: value(), enumerable: true, writable: true, configurable: true });
      skip();
      if (text[at] === ',') at++;
      else if (text[at] !== '}') fail('expected , or }');
    }
  };
  const array = (): unknown[] => {
    at++;
    const out: unknown[] = [];
    for (;;) {
      skip();
      if (text[at] === ']') {
        at++;
        return out;
      }
      out.push(value());
      skip();
      if (text[at] === ',') at++;
      else if (text[at] !== ']') fail('expected , or ]');
    }
  };
  try {
    const result = value();
    skip();
    if (at < text.length) fail('unexpected text after the value');
    return { ok: true, value: result };
  } catch (error) {
    if (error instanceof Problem) return { ok: false, problem: error.message };
    throw error;
  }
}

/** JSON of a reply: byte strings as `<N bytes>`, big integers as decimal strings. */
export function printableJson(value: unknown, indent?: number): string {
  return JSON.stringify(
    value,
    function (this: Record<string, unknown>, key: string, converted: unknown) {
      // `this[key]` is the value before toJSON (a Buffer's turns it into an array of numbers).
      const original = this[key];
      if (original instanceof Uint8Array) return `<${original.length} bytes>`;
      if (typeof converted === 'bigint') return converted.toString();
      return converted;
    },
    indent,
  ) ?? 'undefined';
}
