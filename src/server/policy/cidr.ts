import { BlockList, isIP } from 'node:net';

/** True when `address` lies inside `cidr`; malformed input is simply "not inside". */
export function ipInCidr(address: string, cidr: string): boolean {
  const [network, prefixText] = cidr.split('/');
  const prefix = Number(prefixText);
  const family = isIP(network ?? '');
  const ip = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  if (!family || !Number.isInteger(prefix) || isIP(ip) !== family) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (prefix < 0 || prefix > (family === 4 ? 32 : 128)) return false;
  const list = new BlockList();
  list.addSubnet(network!, prefix, type);
  return list.check(ip, type);
}
