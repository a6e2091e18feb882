import { expect } from 'chai';
import { FormDataReader, formBoundary } from '../../../../src/protocol/s3/form-data.js';
import { S3Error } from '../../../../src/protocol/s3/errors.js';

const BOUNDARY = '----WebKitFormBoundary7MA4YWxkTrZu0gW';

function formBody(parts: Array<{ name: string; value: string | Buffer; filename?: string }>, boundary = BOUNDARY): Buffer {
  const chunks: Buffer[] = [Buffer.from('preamble to ignore\r\n')];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.filename === undefined ? '' : 'Content-Type: application/octet-stream\r\n'}\r\n`));
    chunks.push(Buffer.isBuffer(part.value) ? part.value : Buffer.from(part.value));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

async function* inPieces(body: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < body.length; at += size) yield body.subarray(at, at + size);
}

async function readAll(body: Buffer, pieceSize: number): Promise<Array<{ name: string; filename?: string; value: Buffer }>> {
  const reader = new FormDataReader(inPieces(body, pieceSize), BOUNDARY);
  const parts: Array<{ name: string; filename?: string; value: Buffer }> = [];
  for (;;) {
    const head = await reader.nextPart();
    if (head === undefined) return parts;
    const pieces: Buffer[] = [];
    for await (const piece of reader.partBody()) pieces.push(piece);
    parts.push({ name: head.name, ...(head.filename === undefined ? {} : { filename: head.filename }), value: Buffer.concat(pieces) });
  }
}

describe('protocol/s3/form-data', () => {
  it('finds the boundary of multipart/form-data only', () => {
    expect(formBoundary(`multipart/form-data; boundary=${BOUNDARY}`)).to.equal(BOUNDARY);
    expect(formBoundary('Multipart/Form-Data; charset=utf-8; boundary="a b;c"')).to.equal('a b;c');
    expect(formBoundary('application/x-www-form-urlencoded')).to.equal(undefined);
    expect(formBoundary('multipart/form-data')).to.equal(undefined);
    expect(formBoundary(undefined)).to.equal(undefined);
  });

  it('reads fields and a file whatever the pieces the body arrives in, delimiter look-alikes included', async () => {
    const file = Buffer.concat([Buffer.from(`\r\n--${BOUNDARY.slice(0, 10)}`), Buffer.alloc(3000, 7), Buffer.from(`\r\n-`)]);
    const body = formBody([{ name: 'Key', value: 'photos/${filename}' }, { name: 'x-amz-meta-note', value: 'a\r\nb' }, { name: 'file', value: file, filename: 'cat.jpg' }]);
    for (const size of [1, 7, 64, 4096, body.length]) {
      const parts = await readAll(body, size);
      expect(parts.map((p) => p.name), `pieces of ${size}`).to.deep.equal(['key', 'x-amz-meta-note', 'file']);
      expect(parts[0]!.value.toString()).to.equal('photos/${filename}');
      expect(parts[1]!.value.toString()).to.equal('a\r\nb');
      expect(parts[2]!.filename).to.equal('cat.jpg');
      expect(parts[2]!.value.equals(file), `file in pieces of ${size}`).to.equal(true);
    }
  });

  it('skips a part left unread, and bounds a field read whole', async () => {
    const body = formBody([{ name: 'big', value: 'x'.repeat(100) }, { name: 'small', value: 'y' }]);
    const reader = new FormDataReader(inPieces(body, 13), BOUNDARY);
    expect((await reader.nextPart())?.name).to.equal('big');
    expect((await reader.nextPart())?.name).to.equal('small');
    expect((await reader.readValue(10)).toString()).to.equal('y');
    expect(await reader.nextPart()).to.equal(undefined);
    const bounded = new FormDataReader(inPieces(body, 13), BOUNDARY);
    await bounded.nextPart();
    const error = await bounded.readValue(50).catch((e: unknown) => e);
    expect((error as S3Error).code).to.equal('MaxPostPreDataLengthExceededError');
  });

  it('refuses bodies that break the format', async () => {
    const cases: Buffer[] = [
      Buffer.from('no boundary at all'),
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="key"\r\n\r\nvalue without end`),
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: attachment; name="key"\r\n\r\nv\r\n--${BOUNDARY}--`),
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nv\r\n--${BOUNDARY}--`),
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="k"\r\n${'X-Long: y\r\n'.repeat(3000)}\r\nv\r\n--${BOUNDARY}--`),
    ];
    for (const body of cases) {
      const error = await readAll(body, 5).catch((e: unknown) => e);
      expect(error, body.toString().slice(0, 60)).to.be.instanceOf(S3Error);
      expect((error as S3Error).code).to.equal('MalformedPOSTRequest');
    }
  });
});
