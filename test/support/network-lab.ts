/**
 * Network namespaces for partition tests: each storage node gets a namespace of its own, joined to a
 * bridge in the test's namespace (where the manager, gateways and test run) by a veth pair, on a
 * private /24 chosen per run. A partition between two nodes is a pair of blackhole routes; healing
 * removes them. Needs the `ip` tool and the right to create namespaces (root, or CAP_NET_ADMIN and
 * CAP_SYS_ADMIN); `NetworkLab.create` says why not when it cannot.
 */
import { execFileSync } from 'node:child_process';

export class NetworkLab {
  private readonly partitions = new Set<string>();

  private constructor(
    private readonly id: number,
    private readonly subnet: number,
    readonly nodes: number,
  ) {}

  /** A lab for `nodes` storage nodes, or the reason this machine cannot make one. */
  static create(nodes: number): NetworkLab | string {
    const id = process.pid % 10_000;
    const lab = new NetworkLab(id, 16 + (process.pid % 200), nodes);
    try {
      lab.build();
      return lab;
    } catch (error) {
      lab.destroy();
      return error instanceof Error ? error.message.split('\n')[0]! : String(error);
    }
  }

  /** The address of the bridge: where the manager and gateways listen. */
  get hostAddress(): string {
    return `10.201.${this.subnet}.1`;
  }

  nodeAddress(index: number): string {
    return `10.201.${this.subnet}.${10 + index}`;
  }

  namespace(index: number): string {
    return `lfn${this.id}_${index}`;
  }

  /** Cuts traffic between two nodes, both ways. */
  partition(a: number, b: number): void {
    if (a === b || this.partitions.has(pairKey(a, b))) return;
    ip('-n', this.namespace(a), 'route', 'add', 'blackhole', `${this.nodeAddress(b)}/32`);
    ip('-n', this.namespace(b), 'route', 'add', 'blackhole', `${this.nodeAddress(a)}/32`);
    this.partitions.add(pairKey(a, b));
  }

  heal(a: number, b: number): void {
    if (!this.partitions.delete(pairKey(a, b))) return;
    ip('-n', this.namespace(a), 'route', 'del', 'blackhole', `${this.nodeAddress(b)}/32`);
    ip('-n', this.namespace(b), 'route', 'del', 'blackhole', `${this.nodeAddress(a)}/32`);
  }

  healAll(): void {
    for (const key of [...this.partitions]) {
      const [a, b] = key.split('-').map(Number) as [number, number];
      this.heal(a, b);
    }
  }

  /** Removes the namespaces (their veth pairs go with them) and the bridge; never throws. */
  destroy(): void {
    for (let index = 0; index < this.nodes; index++) quietly(() => ip('netns', 'del', this.namespace(index)));
    quietly(() => ip('link', 'del', this.bridge));
  }

  private get bridge(): string {
    return `lfb${this.id}`;
  }

  private build(): void {
    ip('link', 'add', this.bridge, 'type', 'bridge');
    ip('addr', 'add', `${this.hostAddress}/24`, 'dev', this.bridge);
    ip('link', 'set', this.bridge, 'up');
    for (let index = 0; index < this.nodes; index++) {
      const namespace = this.namespace(index);
      const outside = `lfv${this.id}_${index}`;
      ip('netns', 'add', namespace);
      ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace);
      ip('link', 'set', outside, 'master', this.bridge, 'up');
      ip('-n', namespace, 'addr', 'add', `${this.nodeAddress(index)}/24`, 'dev', 'eth0');
      ip('-n', namespace, 'link', 'set', 'eth0', 'up');
      ip('-n', namespace, 'link', 'set', 'lo', 'up');
    }
  }
}

/** A lab for a mocha `before` hook: skips the suite, saying why, on a machine that cannot make one. */
export function networkLabOrSkip(suite: Mocha.Context, nodes: number): NetworkLab {
  const made = NetworkLab.create(nodes);
  if (typeof made === 'string') {
    console.log(`      (skipped: this machine cannot make network namespaces: ${made})`);
    suite.skip();
  }
  return made as NetworkLab;
}

function pairKey(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function quietly(action: () => void): void {
  try {
    action();
  } catch {
    // Already gone.
  }
}
