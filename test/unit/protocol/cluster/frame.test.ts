import { expect } from 'chai';
import { encodeCbor } from '../../../../src/protocol/cluster/cbor.js';
import { FrameBuilder, readFrame } from '../../../../src/protocol/cluster/frame.js';
import { PROTOCOL_VERSION } from '../../../../src/protocol/cluster/version.js';

function collect(bytes: Uint8Array): { result: ReturnType<typeof readFrame>; messages: unknown[][]; replies: unknown[][] } {
  const messages: unknown[][] = [];
  const replies: unknown[][] = [];
  const result = readFrame(bytes, { message: (path, body) => messages.push([path, body]), reply: (ask, body) => replies.push([ask, body]) });
  return { result, messages, replies };
}

describe('protocol/cluster/frame', () => {
  it('round-trips a batch of messages and replies in order', () => {
    const builder = new FrameBuilder();
    builder.addMessage('/node/info', { type: 'ping', n: 1 });
    builder.addReply(42, { ok: true, value: 'x' });
    builder.addMessage('/node/storage/vnode_1', { type: 'put', data: Buffer.from('hello') });
    expect(builder.envelopeCount).to.equal(3);
    const { result, messages, replies } = collect(builder.take().encode());
    expect(result).to.deep.equal({ ok: true, envelopes: 3 });
    expect(messages.map((m) => m[0])).to.deep.equal(['/node/info', '/node/storage/vnode_1']);
    expect(replies).to.deep.equal([[42, { ok: true, value: 'x' }]]);
    expect(builder.envelopeCount).to.equal(0);
  });

  it('carries binary payloads as byte strings, decoded without base64 and without a copy', () => {
    const payload = Buffer.alloc(100_000, 0xab);
    const builder = new FrameBuilder();
    builder.addMessage('/a', { type: 'blob', data: payload });
    const bytes = builder.encode();
    expect(bytes.length).to.be.below(payload.length + 64);
    const { messages } = collect(bytes);
    const data = (messages[0]![1] as { data: Buffer }).data;
    expect(Buffer.compare(data, payload)).to.equal(0);
    expect(data.buffer).to.equal(bytes.buffer);
  });

  it('splits a batch in two halves that keep every envelope', () => {
    const builder = new FrameBuilder();
    for (let i = 0; i < 5; i++) builder.addMessage(`/a/${i}`, { type: 't', i });
    const [first, second] = builder.split();
    const paths = [...collect(first.encode()).messages, ...collect(second.encode()).messages].map((m) => m[0]);
    expect(paths).to.deep.equal(['/a/0', '/a/1', '/a/2', '/a/3', '/a/4']);
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
    ];
    for (const [label, bytes] of cases) {
      const { result, messages, replies } = collect(bytes);
      expect(result.ok, label).to.equal(false);
      expect(messages.length + replies.length, label).to.equal(0);
    }
  });

  it('refuses a cut-off frame at every cut point', () => {
    const builder = new FrameBuilder();
    builder.addMessage('/node/info', { type: 'ping', payload: Buffer.alloc(40, 1), replyTo: { node: 'a@b', ask: 9 } });
    const bytes = builder.encode();
    for (let cut = 0; cut < bytes.length; cut++) expect(collect(bytes.subarray(0, cut)).result.ok, `cut at ${cut}`).to.equal(false);
  });
});
