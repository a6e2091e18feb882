/**
 * The networks the REST API serves: a client address is in them or it is not. IPv4 clients of a
 * dual-stack listener (`::ffff:a.b.c.d`) are matched as the IPv4 address they are.
 */
import { BlockList, isIPv4 } from 'node:net';
import { clientAddressOf } from '../nfs/exports.js';

export class TrustedNetworks {
  private readonly list = new BlockList();

  /** `cidrs` as the config checked them (rest-config.ts): CIDR blocks, or single addresses. */
  constructor(readonly cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address, bits] = cidr.split('/') as [string, string | undefined];
      const type = isIPv4(address) ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, Number(bits), type);
    }
  }

  /** Whether a socket's remote address is trusted; an unknown address never is. */
  includes(remoteAddress: string | undefined): boolean {
    const address = clientAddressOf(remoteAddress);
    if (address === '') return false;
    return this.list.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
  }
}
