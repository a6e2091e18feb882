import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { decodedPieces, plainPieces, type BodyDecoder } from '../../../../src/actors/gateway/request-pieces.js';

/** A stand-in for a request: what the readers use of one is a Readable's. */
function fakeRequest(): PassThrough & IncomingMessage {
  return new PassThrough() as PassThrough & IncomingMessage;
}

/** The error `read` failed with; fails the test if it did not fail. */
async function failureOf(read: Promise<unknown>): Promise<unknown> {
  return read.then(
    () => expect.fail('a stopped or failed read must fail'),
    (failure: unknown) => failure,
  );
}

/** A decoder that passes every piece on as it is. */
const passing = (): BodyDecoder => ({ decode: (piece, out) => out.push(piece), end: () => undefined });

function settles(promise: Promise<unknown>): Promise<boolean> {
  return Promise.race([promise.then(() => true, () => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20))]);
}

describe('actors/gateway request pieces', () => {
  it('gives a plain body piece by piece in order, then its end, leaving the request paused while a piece is held', async () => {
    const req = fakeRequest();
    const pieces = plainPieces(req);
    req.write(Buffer.from('one'));
    req.write(Buffer.from('two'));
    req.end(Buffer.from('three'));
    const first = await pieces.next();
    expect(first?.toString()).to.equal('one');
    expect(req.isPaused()).to.equal(true);
    expect((await pieces.next())?.toString()).to.equal('two');
    expect((await pieces.next())?.toString()).to.equal('three');
    expect(await pieces.next()).to.equal(undefined);
    expect(await pieces.next()).to.equal(undefined);
  });

  it('gives at once the end of a body read to its end before', async () => {
    const req = fakeRequest();
    req.end(Buffer.from('read elsewhere'));
    req.resume();
    await new Promise((resolve) => req.once('end', resolve));
    const end = plainPieces(req).next();
    expect(await settles(end)).to.equal(true);
    expect(await end).to.equal(undefined);
  });

  it('fails at once the read of a request destroyed before its body was read, plain or encoded', async () => {
    const plain = fakeRequest();
    plain.write(Buffer.from('part of it'));
    plain.destroy();
    const read = plainPieces(plain).next();
    expect(await settles(read)).to.equal(true);
    expect(((await failureOf(read)) as Error).message).to.match(/gone before its body was read/);

    const encoded = fakeRequest();
    encoded.destroy();
    const decoded = decodedPieces(encoded, passing()).next();
    expect(await settles(decoded)).to.equal(true);
    expect(((await failureOf(decoded)) as Error).message).to.match(/gone before its body was read/);
  });

  it('waits for a piece still to come', async () => {
    const req = fakeRequest();
    const pieces = plainPieces(req);
    const pending = pieces.next();
    expect(await settles(pending)).to.equal(false);
    req.write(Buffer.from('late'));
    expect((await pending)?.toString()).to.equal('late');
  });

  it('stops with an error: a waiting read and every later one fail with it, and the request stays up, paused and unread', async () => {
    const req = fakeRequest();
    const pieces = plainPieces(req);
    const pending = pieces.next();
    const error = new Error('too slow');
    pieces.stop(error);
    expect(await failureOf(pending)).to.equal(error);
    req.write(Buffer.from('after'));
    expect(await failureOf(pieces.next())).to.equal(error);
    expect(req.destroyed).to.equal(false);
    expect(req.isPaused()).to.equal(true);
    expect(req.listenerCount('data')).to.equal(0);
  });

  it('gives each piece as its decoder decodes it, several out of one, and stopping leaves the request up and paused', async () => {
    const req = fakeRequest();
    const halves: BodyDecoder = {
      decode(piece, out) {
        const text = piece.toString().toUpperCase();
        out.push(Buffer.from(text.slice(0, 2)), Buffer.from(text.slice(2)));
      },
      end: () => undefined,
    };
    const pieces = decodedPieces(req, halves);
    req.write(Buffer.from('abcd'));
    expect((await pieces.next())?.toString()).to.equal('AB');
    expect(req.isPaused()).to.equal(true);
    expect((await pieces.next())?.toString()).to.equal('CD');
    const pending = pieces.next();
    const error = new Error('too slow');
    pieces.stop(error);
    expect(await failureOf(pending)).to.equal(error);

    // Stopped with decoded pieces not yet read: those go too.
    const other = fakeRequest();
    const stopped = decodedPieces(other, halves);
    other.write(Buffer.from('efgh'));
    expect((await stopped.next())?.toString()).to.equal('EF');
    stopped.stop(error);
    expect(await failureOf(stopped.next())).to.equal(error);
    expect(other.destroyed).to.equal(false);
    expect(req.destroyed).to.equal(false);
    expect(req.isPaused()).to.equal(true);
    expect(req.listenerCount('data')).to.equal(0);
  });

  it('fails the read with what its decoder throws, for a piece or at the end, and gives the end of a body that decodes', async () => {
    const refusing: BodyDecoder = {
      decode: () => {
        throw new Error('the chunk signature does not match');
      },
      end: () => undefined,
    };
    const req = fakeRequest();
    const pieces = decodedPieces(req, refusing);
    req.write(Buffer.from('forged'));
    expect(((await failureOf(pieces.next())) as Error).message).to.equal('the chunk signature does not match');
    expect(req.destroyed).to.equal(false);

    const cut = fakeRequest();
    const cutShort = decodedPieces(cut, {
      decode: (piece, out) => out.push(piece),
      end: () => {
        throw new Error('the body ended before its last chunk');
      },
    });
    cut.end(Buffer.from('some of it'));
    expect((await cutShort.next())?.toString()).to.equal('some of it');
    expect(((await failureOf(cutShort.next())) as Error).message).to.equal('the body ended before its last chunk');

    const whole = fakeRequest();
    const all = decodedPieces(whole, passing());
    whole.end(Buffer.from('all of it'));
    expect((await all.next())?.toString()).to.equal('all of it');
    expect(await all.next()).to.equal(undefined);
    expect(await all.next()).to.equal(undefined);
  });
});
