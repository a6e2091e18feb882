import { expect } from 'chai';
import {
  AwsChunkedDecoder, chunkSignature, createChunkedDecoder, trailerSignature, type AwsChunkedOptions,
} from '../../../../src/protocol/s3/aws-chunked.js';
import { BodyDigester, parseBodyExpectations } from '../../../../src/protocol/s3/checksums.js';
import { S3Error } from '../../../../src/protocol/s3/errors.js';
import { deriveSigningKey, sha256Hex, type StreamingSigningContext } from '../../../../src/protocol/s3/sigv4.js';
import { DOC_SECRET } from './signing-helpers.js';

const DOC_SIGNING: StreamingSigningContext = {
  signingKey: deriveSigningKey(DOC_SECRET, '20130524', 'us-east-1', 's3'),
  scope: '20130524/us-east-1/s3/aws4_request',
  timestamp: '20130524T000000Z',
  seedSignature: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
};
const DOC_TRAILER_SIGNING: StreamingSigningContext = {
  ...DOC_SIGNING,
  seedSignature: '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e',
};
const DOC_DATA = Buffer.alloc(66560, 'a');

/** The documentation's body: 64 KiB and 1 KiB chunks of 'a', then the final chunk. */
function docBody(): Buffer {
  return Buffer.concat([
    Buffer.from('10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n'),
    DOC_DATA.subarray(0, 65536),
    Buffer.from('\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n'),
    DOC_DATA.subarray(65536),
    Buffer.from('\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n'),
  ]);
}

const DOC_TRAILER_FINAL =
  '0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n';
const DOC_TRAILER_LINES =
  'x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n';

/** The trailing-checksum example; `layout` chooses where the blank line sits, as clients differ. */
function docTrailerBody(layout: 'sdk' | 'documented'): Buffer {
  return Buffer.concat([
    Buffer.from('10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n'),
    DOC_DATA.subarray(0, 65536),
    Buffer.from('\r\n400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n'),
    DOC_DATA.subarray(65536),
    Buffer.from('\r\n' + DOC_TRAILER_FINAL + (layout === 'sdk' ? DOC_TRAILER_LINES + '\r\n' : '\r\n' + DOC_TRAILER_LINES)),
  ]);
}

/** A deterministic generator, so a failing split can be replayed from the seed in the message. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function splitRandomly(body: Buffer, seed: number, maxPiece: number): Buffer[] {
  const random = prng(seed);
  const pieces: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const n = 1 + Math.floor(random() * maxPiece);
    pieces.push(body.subarray(at, at + n));
    at += n;
  }
  return pieces;
}

type Decoded = { ok: true; data: Buffer; trailers: ReadonlyMap<string, string> } | { ok: false; error: S3Error };

async function decode(options: AwsChunkedOptions | AwsChunkedDecoder, pieces: Buffer[]): Promise<Decoded> {
  const decoder = options instanceof AwsChunkedDecoder ? options : new AwsChunkedDecoder(options);
  const out: Buffer[] = [];
  try {
    for (const piece of pieces) decoder.decode(piece, out);
    decoder.end();
    return { ok: true, data: Buffer.concat(out), trailers: decoder.trailers };
  } catch (error) {
    if (error instanceof S3Error) return { ok: false, error };
    throw error;
  }
}

async function expectCode(options: AwsChunkedOptions, pieces: Buffer[], code: string, what = ''): Promise<void> {
  const result = await decode(options, pieces);
  expect(result.ok, `${what} should be refused`).to.equal(false);
  if (!result.ok) expect(result.error.code, what).to.equal(code);
}

const signedOptions: AwsChunkedOptions = { mode: 'signed', signing: DOC_SIGNING, decodedContentLength: 66560 };
const trailerOptions: AwsChunkedOptions = {
  mode: 'signed-trailer', signing: DOC_TRAILER_SIGNING, decodedContentLength: 66560, trailerNames: ['x-amz-checksum-crc32c'],
};

function unsignedBody(data: Buffer, chunkSizes: number[], trailers: string): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (const size of chunkSizes) {
    parts.push(Buffer.from(`${size.toString(16)}\r\n`), data.subarray(at, at + size), Buffer.from('\r\n'));
    at += size;
  }
  parts.push(Buffer.from(`0\r\n${trailers}\r\n`));
  return Buffer.concat(parts);
}

describe('protocol/s3/aws-chunked', () => {
  describe('signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)', () => {
    it("computes the documentation's chunk signatures", () => {
      const first = chunkSignature(DOC_SIGNING, DOC_SIGNING.seedSignature, sha256Hex(DOC_DATA.subarray(0, 65536)));
      expect(first).to.equal('ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648');
      const second = chunkSignature(DOC_SIGNING, first, sha256Hex(DOC_DATA.subarray(65536)));
      expect(second).to.equal('0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497');
      expect(chunkSignature(DOC_SIGNING, second, sha256Hex(''))).to.equal('b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9');
    });

    it("decodes the documentation's 65 KiB example in one piece", async () => {
      const body = docBody();
      expect(body.length).to.equal(66824);
      const result = await decode(signedOptions, [body]);
      expect(result.ok).to.equal(true);
      if (result.ok) {
        expect(result.data.equals(DOC_DATA)).to.equal(true);
        expect(result.trailers.size).to.equal(0);
      }
    });

    it('decodes it split at any byte boundary', async () => {
      const body = docBody();
      for (let seed = 1; seed <= 60; seed++) {
        const maxPiece = seed % 3 === 0 ? 3 : seed % 3 === 1 ? 97 : 9000;
        const result = await decode(signedOptions, splitRandomly(body, seed, maxPiece));
        expect(result.ok, `seed ${seed}`).to.equal(true);
        if (result.ok) expect(result.data.equals(DOC_DATA), `seed ${seed}`).to.equal(true);
      }
      // Every single cut point around the chunk boundaries and the signatures.
      const interesting = [0, 1, 5, 6, 20, 86, 87, 88, 65623, 65624, 65625, 65626, 65630, 65715, 66740, 66741, 66742, 66743, 66820, 66822, 66823];
      for (const cut of interesting) {
        const result = await decode(signedOptions, [body.subarray(0, cut), body.subarray(cut)]);
        expect(result.ok, `cut at ${cut}`).to.equal(true);
      }
    });

    it('refuses a body cut short anywhere before its final chunk', async () => {
      const body = docBody();
      const finalHeaderEnd = body.length - 2;
      for (const cut of [0, 1, 50, 87, 88, 1000, 65624, 65625, 65626, 66000, 66741, 66742, 66743, 66800, finalHeaderEnd - 1]) {
        const result = await decode(signedOptions, [body.subarray(0, cut)]);
        expect(result.ok, `cut at ${cut}`).to.equal(false);
        if (!result.ok) expect(result.error.code, `cut at ${cut}`).to.equal('IncompleteBody');
      }
      // The final chunk is verified once its header is complete; the closing CRLF adds nothing.
      expect((await decode(signedOptions, [body.subarray(0, finalHeaderEnd)])).ok).to.equal(true);
    });

    it('refuses a changed data byte, signature or size', async () => {
      const body = docBody();
      for (const at of [88, 40000, 65623, 65712, 66735]) {
        const tampered = Buffer.from(body);
        tampered[at] = 0x62;
        await expectCode(signedOptions, [tampered], 'SignatureDoesNotMatch', `data byte ${at}`);
      }
      const badSignature = Buffer.from(body.toString('latin1').replace('0055627c', '0055627d'), 'latin1');
      await expectCode(signedOptions, [badSignature], 'SignatureDoesNotMatch', 'second signature');
      const badFinal = Buffer.from(body.toString('latin1').replace('b6c6ea8a', 'b6c6ea8b'), 'latin1');
      await expectCode(signedOptions, [badFinal], 'SignatureDoesNotMatch', 'final signature');
      const reordered = Buffer.from(body.toString('latin1').replace('400;chunk', '3ff;chunk'), 'latin1');
      const result = await decode(signedOptions, [reordered]);
      expect(result.ok).to.equal(false);
      await expectCode({ ...signedOptions, signing: { ...DOC_SIGNING, seedSignature: '0'.repeat(64) } }, [body], 'SignatureDoesNotMatch', 'seed');
    });

    it('checks the decoded length against x-amz-decoded-content-length', async () => {
      await expectCode({ ...signedOptions, decodedContentLength: 66559 }, [docBody()], 'InvalidRequest', 'too long');
      await expectCode({ ...signedOptions, decodedContentLength: 66561 }, [docBody()], 'IncompleteBody', 'too short');
    });

    it('refuses malformed framing', async () => {
      const text = docBody().toString('latin1');
      const variants: Array<[string, string]> = [
        ['no signature', text.replace(';chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648', '')],
        ['bad size', text.replace('10000;', '1000g;')],
        ['missing CRLF after data', text.replace('\r\n400;', '\n\n400;')],
        ['garbage after the end', text + 'extra'],
      ];
      for (const [what, variant] of variants) await expectCode(signedOptions, [Buffer.from(variant, 'latin1')], 'InvalidRequest', what);
      await expectCode({ ...signedOptions, maxLineBytes: 64 }, [docBody()], 'InvalidRequest', 'long header line');
      await expectCode({ ...signedOptions, maxChunkBytes: 1024 }, [docBody()], 'InvalidRequest', 'big chunk');
      const endless = Buffer.alloc(10_000, 0x31);
      await expectCode(signedOptions, [endless], 'InvalidRequest', 'a header line that never ends');
    });
  });

  describe('signed chunks with a signed trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER)', () => {
    it("computes the documentation's trailer signature", () => {
      expect(trailerSignature(DOC_TRAILER_SIGNING, '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992', 'x-amz-checksum-crc32c:sOO8/Q==\n'))
        .to.equal('d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435');
    });

    it('decodes the documented example in both blank-line layouts, split anywhere, and verifies its CRC32C', async () => {
      for (const layout of ['sdk', 'documented'] as const) {
        for (let seed = 1; seed <= 20; seed++) {
          const result = await decode(trailerOptions, splitRandomly(docTrailerBody(layout), seed * 7919, seed % 2 === 0 ? 5 : 4000));
          expect(result.ok, `${layout} seed ${seed}`).to.equal(true);
          if (!result.ok) continue;
          expect(result.data.equals(DOC_DATA)).to.equal(true);
          expect([...result.trailers]).to.deep.equal([['x-amz-checksum-crc32c', 'sOO8/Q==']]);
          const expectations = parseBodyExpectations({ 'x-amz-trailer': 'x-amz-checksum-crc32c' }, undefined);
          if (!expectations.ok) throw expectations.error;
          const digester = new BodyDigester(expectations.value);
          digester.update(result.data);
          const digests = digester.finish(result.trailers);
          expect(digests.ok && digests.value.checksum).to.deep.equal({ algorithm: 'CRC32C', base64: 'sOO8/Q==' });
        }
      }
    });

    it('refuses a changed, missing, unannounced or late trailer', async () => {
      const sdk = docTrailerBody('sdk').toString('latin1');
      await expectCode(trailerOptions, [Buffer.from(sdk.replace('sOO8/Q==', 'sOO8/A=='), 'latin1')], 'SignatureDoesNotMatch', 'changed value');
      await expectCode(trailerOptions, [Buffer.from(sdk.replace('d81f82fc', 'd81f82fd'), 'latin1')], 'SignatureDoesNotMatch', 'changed signature');
      await expectCode(trailerOptions, [Buffer.from(sdk.replace(/x-amz-trailer-signature:[0-9a-f]+\r\n/, ''), 'latin1')], 'MalformedTrailerError', 'no signature');
      await expectCode({ ...trailerOptions, trailerNames: ['x-amz-checksum-sha256'] }, [Buffer.from(sdk, 'latin1')], 'MalformedTrailerError', 'unannounced');
      await expectCode(trailerOptions, [Buffer.from(sdk.replace('\r\n\r\n', '\r\nx-amz-late:1\r\n\r\n'), 'latin1')], 'MalformedTrailerError', 'after signature');
      const cut = docTrailerBody('sdk');
      await expectCode(trailerOptions, [cut.subarray(0, cut.length - 40)], 'IncompleteBody', 'cut in the trailer');
      await expectCode({ ...trailerOptions, maxTrailerBytes: 40 }, [cut], 'MalformedTrailerError', 'oversized trailer');
    });
  });

  describe('unsigned chunks with a trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER)', () => {
    const data = Buffer.from(Array.from({ length: 70010 }, (_, i) => (i * 31) % 251));
    const options: AwsChunkedOptions = { mode: 'unsigned-trailer', decodedContentLength: 70010, trailerNames: ['x-amz-checksum-crc32'] };

    it('decodes variable-size chunks and the trailer, split anywhere', async () => {
      const body = unsignedBody(data, [70000, 10], 'x-amz-checksum-crc32:AAAAAA==\r\n');
      for (let seed = 1; seed <= 30; seed++) {
        const result = await decode(options, splitRandomly(body, seed * 104729, seed % 2 === 0 ? 4 : 5000));
        expect(result.ok, `seed ${seed}`).to.equal(true);
        if (!result.ok) continue;
        expect(result.data.equals(data)).to.equal(true);
        expect(result.trailers.get('x-amz-checksum-crc32')).to.equal('AAAAAA==');
      }
    });

    it('gives the payload of each piece as it comes, and once it failed fails every later call with the same error', () => {
      const body = unsignedBody(data, [70000, 10], 'x-amz-checksum-crc32:AAAAAA==\r\n');
      const decoder = new AwsChunkedDecoder(options);
      const first: Buffer[] = [];
      decoder.decode(body.subarray(0, 1000), first);
      expect(Buffer.concat(first).equals(data.subarray(0, 1000 - '11170\r\n'.length))).to.equal(true);
      expect(decoder.decodedLength).to.equal(1000 - '11170\r\n'.length);
      const forged = Buffer.from(body.subarray(1000));
      forged.write('zz', forged.indexOf('\r\na\r\n') + 2, 'latin1');
      let failure: unknown;
      try {
        decoder.decode(forged, []);
      } catch (error) {
        failure = error;
      }
      expect((failure as S3Error).code).to.equal('InvalidRequest');
      expect(() => decoder.decode(Buffer.from('0\r\n\r\n'), [])).to.throw().that.equals(failure);
      expect(() => decoder.end()).to.throw().that.equals(failure);
    });

    it('accepts chunk extensions and a missing final blank line, and refuses truncation', async () => {
      const withExtension = Buffer.from(unsignedBody(data, [70010], 'x-amz-checksum-crc32:AAAAAA==\r\n').toString('latin1').replace('1117a\r\n', '1117a;ext=1\r\n'), 'latin1');
      expect((await decode(options, [withExtension])).ok).to.equal(true);
      const body = unsignedBody(data, [70010], 'x-amz-checksum-crc32:AAAAAA==\r\n');
      expect((await decode(options, [body.subarray(0, body.length - 2)])).ok).to.equal(true);
      await expectCode(options, [body.subarray(0, body.length - 12)], 'IncompleteBody', 'cut trailer line');
      await expectCode(options, [body.subarray(0, body.length - 33)], 'IncompleteBody', 'no trailer at all');
      await expectCode(options, [body.subarray(0, 1000)], 'IncompleteBody', 'cut data');
      await expectCode(options, [unsignedBody(data, [70010], '\r\n')], 'MalformedTrailerError', 'trailer missing before the end');
      await expectCode(options, [unsignedBody(data, [70010], 'no colon here\r\n')], 'MalformedTrailerError', 'trailer without a colon');
      await expectCode(options, [unsignedBody(data, [70010], 'x-amz-checksum-crc32:A\r\nx-amz-checksum-crc32:B\r\n')], 'MalformedTrailerError', 'repeated');
    });

    it('decodes a body with no trailer when none was announced', async () => {
      const result = await decode({ mode: 'unsigned-trailer', decodedContentLength: 5 }, [Buffer.from('5\r\nhello\r\n0\r\n\r\n')]);
      expect(result.ok && result.data.toString()).to.equal('hello');
    });

    it('streams a large body without holding it', async () => {
      const chunk = Buffer.alloc(1 << 20, 7);
      const chunks = 64;
      async function* body(): AsyncGenerator<Buffer> {
        for (let i = 0; i < chunks; i++) {
          yield Buffer.from(`${chunk.length.toString(16)}\r\n`);
          yield chunk;
          yield Buffer.from('\r\n');
        }
        yield Buffer.from('0\r\n\r\n');
      }
      const decoder = new AwsChunkedDecoder({ mode: 'unsigned-trailer', decodedContentLength: chunks * chunk.length });
      let total = 0;
      let largest = 0;
      for await (const piece of body()) {
        const out: Buffer[] = [];
        decoder.decode(piece, out);
        for (const payload of out) {
          total += payload.length;
          largest = Math.max(largest, payload.length);
        }
      }
      decoder.end();
      expect(total).to.equal(chunks * chunk.length);
      expect(largest).to.be.at.most(chunk.length);
      expect(decoder.decodedLength).to.equal(total);
    });
  });

  describe('createChunkedDecoder', () => {
    it('builds the decoder a payload mode needs', () => {
      expect(createChunkedDecoder({ type: 'unsigned' }, {})).to.deep.equal({ ok: true, decoder: undefined });
      expect(createChunkedDecoder({ type: 'sha256', sha256: 'ab' }, {})).to.deep.equal({ ok: true, decoder: undefined });
      const missing = createChunkedDecoder({ type: 'streaming-unsigned-trailer' }, {});
      expect(missing.ok ? 'ok' : missing.error.code).to.equal('MissingContentLength');
      const bad = createChunkedDecoder({ type: 'streaming-unsigned-trailer' }, { 'x-amz-decoded-content-length': '12a' });
      expect(bad.ok ? 'ok' : bad.error.code).to.equal('InvalidArgument');
      const mixed = createChunkedDecoder({ type: 'streaming-signed', trailer: false, signing: DOC_SIGNING }, { 'x-amz-decoded-content-length': '1', 'x-amz-trailer': 'x-amz-checksum-crc32' });
      expect(mixed.ok ? 'ok' : mixed.error.code).to.equal('InvalidRequest');
    });

    it('decodes the documented example through the factory', async () => {
      const made = createChunkedDecoder(
        { type: 'streaming-signed', trailer: true, signing: DOC_TRAILER_SIGNING },
        { 'x-amz-decoded-content-length': '66560', 'x-amz-trailer': 'x-amz-checksum-crc32c' },
      );
      if (!made.ok || made.decoder === undefined) throw new Error('expected a decoder');
      const result = await decode(made.decoder, [docTrailerBody('sdk')]);
      expect(result.ok && result.trailers.get('x-amz-checksum-crc32c')).to.equal('sOO8/Q==');
    });

    it('refuses to build a signed decoder without its signing context', () => {
      expect(() => new AwsChunkedDecoder({ mode: 'signed', decodedContentLength: 1 })).to.throw(TypeError);
    });
  });
});
