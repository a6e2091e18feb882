/**
 * The managers' cluster addresses as an operator gives them: one host:port, several separated by
 * commas, or (in a config file) a JSON array. Nodes outside the control plane are given every manager
 * so that they can find whichever one leads; one address alone still works, as in earlier releases.
 */

const HOST_PORT = /^[A-Za-z0-9_.-]+:(\d{1,5})$/;

export type ParsedManagers = { readonly ok: true; readonly addresses: readonly string[] } | { readonly ok: false; readonly problem: string };

/** `value` as a list of host:port, in the order given, each once; `key` names the setting in problems. */
export function parseManagerAddresses(value: unknown, key: string): ParsedManagers {
  let items: readonly unknown[];
  if (typeof value === 'string') items = value.split(',');
  else if (Array.isArray(value)) items = value;
  else return { ok: false, problem: `${key} must be host:port, several separated by commas, or a list of them (got ${JSON.stringify(value)})` };
  const addresses: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') return { ok: false, problem: `${key} must list addresses as strings (got ${JSON.stringify(item)})` };
    const address = item.trim();
    if (address === '' && typeof value === 'string') continue;
    const port = HOST_PORT.exec(address)?.[1];
    if (port === undefined || Number(port) > 65535) return { ok: false, problem: `${key}: ${JSON.stringify(item)} is not host:port, e.g. 10.0.0.5:4010` };
    if (!addresses.includes(address)) addresses.push(address);
  }
  if (addresses.length === 0) return { ok: false, problem: `${key} names no manager; give host:port, or several separated by commas` };
  return { ok: true, addresses };
}
