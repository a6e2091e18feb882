import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import {
  cryptRun, customerDataKey, isObjectEncryption, managedDataKey, newCustomerEncryption, newManagedEncryption, type MasterKeys,
} from '../../../src/core/object-encryption.js';

const RUN = '0123456789abcdef01234567';

describe('core/object-encryption', () => {
  it('decrypts any slice of a body write on its own, whatever the offset', () => {
    const key = randomBytes(32);
    const plain = randomBytes(100_003);
    const cipher = cryptRun(key, RUN, 0, plain);
    expect(cipher.equals(plain)).to.equal(false);
    for (const [start, end] of [[0, 16], [5, 37], [4095, 70_001], [99_990, 100_003]] as const) {
      expect(cryptRun(key, RUN, start, cipher.subarray(start, end)).equals(plain.subarray(start, end)), `${start}-${end}`).to.equal(true);
    }
    // Encrypting in pieces is encrypting at once.
    const pieces = Buffer.concat([cryptRun(key, RUN, 0, plain.subarray(0, 7)), cryptRun(key, RUN, 7, plain.subarray(7))]);
    expect(pieces.equals(cipher)).to.equal(true);
    // Another body write of the same key gives another keystream.
    expect(cryptRun(key, 'ffffffffffffffffffffffff', 0, plain).equals(cipher)).to.equal(false);
    expect(() => cryptRun(key, 'not-hex', 0, plain)).to.throw(RangeError);
  });

  it('wraps SSE-S3 data keys under the current master key and unwraps them under the key they name', () => {
    const master: MasterKeys = { current: 'new', keys: new Map([['old', randomBytes(32)], ['new', randomBytes(32)]]) };
    const { encryption, dataKey } = newManagedEncryption(master);
    expect(encryption).to.deep.include({ mode: 'SSE-S3', keyId: 'new' });
    expect(isObjectEncryption(encryption)).to.equal(true);
    if (encryption.mode !== 'SSE-S3') return;
    expect(managedDataKey(encryption, master).equals(dataKey)).to.equal(true);
    expect(encryption.wrappedKey).to.not.include(dataKey.toString('base64'));
    expect(() => managedDataKey(encryption, { current: 'old', keys: new Map([['old', randomBytes(32)]]) })).to.throw(/not configured/);
    const tampered = Buffer.from(encryption.wrappedKey, 'base64');
    tampered[20]! ^= 1;
    expect(() => managedDataKey({ ...encryption, wrappedKey: tampered.toString('base64') }, master)).to.throw();
    expect(() => managedDataKey({ ...encryption, keyId: 'old' }, master)).to.throw();
  });

  it('derives SSE-C data keys from the customer key, telling a wrong key without storing the right one', () => {
    const customer = randomBytes(32);
    const { encryption, dataKey } = newCustomerEncryption(customer);
    if (encryption.mode !== 'SSE-C') throw new Error('expected SSE-C');
    expect(JSON.stringify(encryption)).to.not.include(customer.toString('base64'));
    expect(customerDataKey(encryption, customer)?.equals(dataKey)).to.equal(true);
    expect(customerDataKey(encryption, randomBytes(32))).to.equal(undefined);
    // The same customer key gives each object a data key of its own.
    expect(newCustomerEncryption(customer).dataKey.equals(dataKey)).to.equal(false);
    expect(isObjectEncryption({ mode: 'SSE-C', salt: 1 })).to.equal(false);
  });
});
