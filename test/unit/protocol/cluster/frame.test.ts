import { expect } from 'chai';
import { Tag } from 'cbor-x';
import { decodeCbor, encodeCbor, ownCopy } from '../../../../src/protocol/cluster/cbor.js';
import { deliverFrame, FrameBuilder, readFrame, SIDE_PAYLOAD_MIN_BYTES, SIDE_PAYLOAD_TAG, type EncodedFrame } from '../../../../src/protocol/cluster/frame.js';
import { PROTOCOL_VERSION } from '../../../../src/protocol/cluster/version.js';

/** Reads a frame and delivers it with its side payloads, as a connection does. */
function collect(encoded: EncodedFrame | Uint8Array): { ok: boolean; reason?: string; messages: unknown[][]; replies: unknown[][] } {
  const frame = encoded instanceof Uint8Array ? encoded : encoded.frame;
  const sidePayloads = encoded instanceof Uint8Array ? [] : encoded.sidePayloads;
  const messages: unknown[][] = [];
  const replies: unknown[][] = [];
  const result = readFrame(frame);
  if (!result.ok) return { ok: false, reason: result.reason, messages, replies };
  expect(result.frame.sidePayloads).to.equal(sidePayloads.length);
  deliverFrame(result.frame, sidePayloads, { message: (path, body) => messages.push([path, body]), reply: (ask, body) => replies.push([ask, body]) });
  return { ok: true, messages, replies };
}

describe('protocol/cluster/frame', () => {
  it('round-trips a batch of messages and replies in order', () => {
    const builder = new FrameBuilder();
    builder.addMessage('/node/info', { type: 'ping', n: 1 });
    builder.addReply(42, { ok: true, value: 'x' });
    builder.addMessage('/node/storage/vnode_1', { type: 'put', data: Buffer.from('hello') });
    expect(builder.envelopeCount).to.equal(3);
    const { ok, messages, replies } = collect(builder.take().encode());
    expect(ok).to.equal(true);
    expect(messages.map((m) => m[0])).to.deep.equal(['/node/info', '/node/storage/vnode_1']);
    expect(replies).to.deep.equal([[42, { ok: true, value: 'x' }]]);
    expect(builder.envelopeCount).to.equal(0);
  });

  it('copies a decoded string unit for unit, lone surrogates and all', () => {
    const texts = ['write-1', 'ключ/日本/🙂', 'lone \ud800 high', 'lone \udc00 low', ''];
    expect(texts.map(ownCopy)).to.deep.equal(texts);
    const decoded = decodeCbor(encodeCbor({ texts: texts.slice(0, 2) })) as { texts: string[] };
    expect(decoded.texts.map(ownCopy)).to.deep.equal(texts.slice(0, 2));
  });

  it('carries small binary payloads inside the frame as byte strings, decoded without a copy', () => {
    const payload = Buffer.alloc(1000, 0xab);
    const builder = new FrameBuilder();
    builder.addMessage('/a', { type: 'blob', data: payload });
    const encoded = builder.encode();
    expect(encoded.sidePayloads).to.deep.equal([]);
    expect(encoded.frame.length).to.be.below(payload.length + 64);
    const { messages } = collect(encoded);
    const data = (messages[0]![1] as { data: Buffer }).data;
    expect(Buffer.compare(data, payload)).to.equal(0);
    expect(data.buffer).to.equal(encoded.frame.buffer);
  });

  it('sends large byte strings beside the frame, uncopied, and puts them back in place', () => {
    const big = Buffer.alloc(SIDE_PAYLOAD_MIN_BYTES, 1);
    const other = Buffer.alloc(SIDE_PAYLOAD_MIN_BYTES + 5, 2);
    const builder = new FrameBuilder();
    const body = { type: 'put', meta: { key: 'k' }, body: big };
    builder.addMessage('/a', body);
    builder.addReply(7, { ok: true, meta: null, body: other, small: Buffer.from('inline') });
    const encoded = builder.encode();
    expect(encoded.sidePayloads).to.have.length(2);
    expect(encoded.sidePayloads[0]).to.equal(big, 'the very buffer, not a copy');
    expect(encoded.sidePayloads[1]).to.equal(other);
    expect(encoded.frame.length).to.be.below(200);
    expect(body.body).to.equal(big, "the caller's message is left as it was");
    const { messages, replies } = collect(encoded);
    expect((messages[0]![1] as { body: Buffer }).body).to.equal(big);
    expect((messages[0]![1] as { meta: unknown }).meta).to.deep.equal({ key: 'k' });
    expect((replies[0]![1] as { body: Buffer; small: Buffer }).body).to.equal(other);
    expect(Buffer.from((replies[0]![1] as { small: Uint8Array }).small).toString()).to.equal('inline');
  });

  it('splits a batch in two halves that keep every envelope and its side payloads', () => {
    const builder = new FrameBuilder();
    for (let i = 0; i < 5; i++) builder.addMessage(`/a/${i}`, { type: 't', i, ...(i % 2 === 0 ? { data: Buffer.alloc(SIDE_PAYLOAD_MIN_BYTES, i) } : {}) });
    const [first, second] = builder.split();
    const delivered = [...collect(first.encode()).messages, ...collect(second.encode()).messages];
    expect(delivered.map((m) => m[0])).to.deep.equal(['/a/0', '/a/1', '/a/2', '/a/3', '/a/4']);
    for (const [, body] of delivered) {
      const { i, data } = body as { i: number; data?: Buffer };
      if (i % 2 === 0) expect(data?.[0], `payload of ${i}`).to.equal(i);
      else expect(data).to.equal(undefined);
    }
  });

  it('refuses malformed frames as a whole, delivering nothing', () => {
    const cases: Array<[string, Uint8Array]> = [
      ['garbage', Buffer.from([0xff, 0xfe, 0x00])],
      ['empty', Buffer.alloc(0)],
      ['not an array', encodeCbor({ v: PROTOCOL_VERSION })],
      ['wrong version', encodeCbor([PROTOCOL_VERSION + 1, 0, '/a', { type: 'x' }])],
      ['truncated envelope', encodeCbor([PROTOCOL_VERSION, 0, '/a'])],
      ['unknown kind', encodeCbor([PROTOCOL_VERSION, 7, '/a', {}])],
      ['path not absolute', encodeCbor([PROTOCOL_VERSION, 0, 'a', {}])],
      ['reply id not an integer', encodeCbor([PROTOCOL_VERSION, 1, 'x', {}])],
      ['bad second envelope', encodeCbor([PROTOCOL_VERSION, 0, '/ok', { type: 'x' }, 0, 5, {}])],
      ['side payloads out of order', encodeCbor([PROTOCOL_VERSION, 0, '/a', { type: 'x', a: new Tag(1, SIDE_PAYLOAD_TAG) }])],
    ];
    for (const [label, bytes] of cases) {
      const { ok, messages, replies } = collect(bytes);
      expect(ok, label).to.equal(false);
      expect(messages.length + replies.length, label).to.equal(0);
    }
  });

  it('refuses a cut-off frame at every cut point', () => {
    const builder = new FrameBuilder();
    builder.addMessage('/node/info', { type: 'ping', payload: Buffer.alloc(40, 1), replyTo: { node: 'a@b', ask: 9 } });
    const { frame } = builder.encode();
    for (let cut = 0; cut < frame.length; cut++) expect(collect(frame.subarray(0, cut)).ok, `cut at ${cut}`).to.equal(false);
  });
});
