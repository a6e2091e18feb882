import { expect } from 'chai';
import { parseLenientJson, parseMessage, printableJson } from '../../../src/cli/shell-json.js';

describe('cli/shell-json', () => {
  it('reads plain JSON and the lenient kind people type', () => {
    expect(parseMessage('{"type": "ping", "delayMs": 10}')).to.deep.equal({ ok: true, value: { type: 'ping', delayMs: 10 } });
    expect(parseMessage("{type: 'ping', delayMs: 1e1, list: [1, 'two', null, true,], nested: {a: -0.5},}")).to.deep.equal({
      ok: true,
      value: { type: 'ping', delayMs: 10, list: [1, 'two', null, true], nested: { a: -0.5 } },
    });
    expect(parseMessage("{type: 'ping' /* why */, // more\n note: 'a\\nb\\u0041'}")).to.deep.equal({ ok: true, value: { type: 'ping', note: 'a\nbA' } });
  });

  it('takes a bare word for a message of that type', () => {
    expect(parseMessage(' which_actors ')).to.deep.equal({ ok: true, value: { type: 'which_actors' } });
  });

  it('says what is wrong and where', () => {
    expect(parseMessage('{type: ping}')).to.deep.equal({ ok: false, problem: 'unexpected word ping (quote strings) at column 8' });
    expect(parseMessage("{type: 'ping'")).to.deep.equal({ ok: false, problem: 'expected , or } at column 14' });
    expect(parseMessage("{type: 'ping'} extra")).to.deep.equal({ ok: false, problem: 'unexpected text after the value at column 16' });
    expect(parseMessage("{type: 'pi")).to.deep.equal({ ok: false, problem: "unclosed ' at column 11" });
    expect(parseMessage('[1, 2]')).to.include({ ok: false });
    expect(parseMessage('{delayMs: 5}')).to.deep.equal({ ok: false, problem: 'a message needs a string type, e.g. {type: "ping"}' });
    expect(parseMessage('true')).to.include({ ok: false });
    expect(parseMessage('')).to.deep.equal({ ok: false, problem: 'no message given' });
  });

  it('keeps keys off the prototype', () => {
    const parsed = parseLenientJson('{"__proto__": {"polluted": true}, type: "x"}');
    expect(parsed.ok).to.equal(true);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    if (parsed.ok) expect(Object.keys(parsed.value as object)).to.deep.equal(['__proto__', 'type']);
  });

  it('prints replies with bytes and big integers made readable', () => {
    expect(printableJson({ ok: true, body: Buffer.from('abc'), raw: new Uint8Array(4), size: 12n })).to.equal('{"ok":true,"body":"<3 bytes>","raw":"<4 bytes>","size":"12"}');
    expect(printableJson({ a: [1] }, 2)).to.equal('{\n  "a": [\n    1\n  ]\n}');
  });
});
