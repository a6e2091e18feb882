import { expect } from 'chai';
import { mapReservation, processMapReservation, STORE_MAP_BYTES } from '../../../src/store/map-reservation.js';

const limits = (soft: string, hard: string): string =>
  [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max data size             unlimited            unlimited            bytes     ',
    `Max address space         ${soft.padEnd(20)} ${hard.padEnd(20)} bytes     `,
    'Max open files            1048576              1048576              files     ',
  ].join('\n');

describe('store/map-reservation', () => {
  it('reserves address space up front only where the soft address-space limit is unlimited', () => {
    expect(mapReservation(limits('unlimited', 'unlimited'))).to.equal(STORE_MAP_BYTES);
    expect(mapReservation(limits('16384000000', 'unlimited'))).to.equal(undefined);
    expect(mapReservation(limits('16384000000', '16384000000'))).to.equal(undefined);
  });

  it('reserves nothing where the limits cannot be read', () => {
    expect(mapReservation(undefined)).to.equal(undefined);
    expect(mapReservation('garbage')).to.equal(undefined);
    expect([STORE_MAP_BYTES, undefined]).to.include(processMapReservation());
  });
});
