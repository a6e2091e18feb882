/**
 * Client networks a gateway listener trusts (NFS exports, the REST API): CIDR blocks or single
 * addresses, and whether a client's address is in them. IPv4 clients of a dual-stack socket
 * (`::ffff:a.b.c.d`) are matched as the IPv4 address they are.
 */
import { BlockList, isIP, isIPv4 } from 'node:net';

/** `a.b.c.d/n`, an IPv6 block, or a bare address. */
export function isCidr(text: string): boolean {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  if (slash < 0) return true;
  const bits = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** A socket's remote address as the networks are matched against it; '' when unknown. */
export function clientAddressOf(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

export class ClientNetworks {
  private readonly list = new BlockList();

  /** `cidrs` as the config checked them (isCidr). */
  constructor(readonly cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address, bits] = cidr.split('/') as [string, string | undefined];
      const type = isIPv4(address) ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, Number(bits), type);
    }
  }

  /** Whether a client's address is in the networks; an unknown address never is. */
  includes(remoteAddress: string | undefined): boolean {
    const address = clientAddressOf(remoteAddress);
    if (address === '') return false;
    return this.list.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
  }
}
