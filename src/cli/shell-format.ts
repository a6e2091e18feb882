/**
 * How the shell prints for people: the nodes of the cluster, a node's actors as a tree, and a
 * followed node's log lines. (`--json` prints the data itself.)
 */
import type { MemberStatus } from '../protocol/cluster/ring-keeper.js';
import type { ActorSummary } from '../protocol/cluster/node-info.js';
import { formatTable } from './adm-format.js';

export interface NodeRow {
  readonly node: string;
  readonly role: string;
  readonly state: string;
  readonly address: string | null;
}

export function nodeRows(members: readonly MemberStatus[]): NodeRow[] {
  return members.map(({ node, role, state, address }) => ({ node, role, state, address })).sort((a, b) => a.node.localeCompare(b.node, 'en', { numeric: true }));
}

export function formatNodes(rows: readonly NodeRow[]): string {
  return formatTable(['node', 'role', 'state', 'address'], rows.map((row) => [row.node, row.role, row.state, row.address ?? '-']));
}

interface TreeNode {
  readonly name: string;
  readonly actor: ActorSummary;
  readonly children: TreeNode[];
}

/**
 * Actors nested by path, one row each with its status, incarnation, mailbox depth, crashes and last
 * crash. `nowMs` dates the last crashes.
 */
export function formatActorTree(actors: readonly ActorSummary[], nowMs: number): string {
  const rows: string[][] = [];
  const visit = (node: TreeNode, prefix: string, childPrefix: string): void => {
    const { actor } = node;
    rows.push([
      `${prefix}${node.name}`,
      actor.status,
      String(actor.incarnation),
      String(actor.mailbox),
      String(actor.crashes),
      actor.lastCrash ? `${ago(nowMs - actor.lastCrash.atMs)}: ${oneLine(actor.lastCrash.reason)}` : '',
    ]);
    node.children.forEach((child, index) => {
      const last = index === node.children.length - 1;
      visit(child, `${childPrefix}${last ? '└─ ' : '├─ '}`, `${childPrefix}${last ? '   ' : '│  '}`);
    });
  };
  for (const root of actorTree(actors)) visit(root, '', '');
  return formatTable(['actor', 'status', 'incarnation', 'mailbox', 'crashes', 'last crash'], rows);
}

/**
 * The actors as a forest: each under the nearest actor whose path its own extends, named by the rest of
 * its path; an actor with none above it is a root, named by its whole path. Children in path order.
 */
function actorTree(actors: readonly ActorSummary[]): TreeNode[] {
  const byPath = new Map<string, TreeNode>();
  const roots: TreeNode[] = [];
  for (const actor of [...actors].sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }))) {
    let parent: TreeNode | undefined;
    let parentPath = actor.path;
    while (!parent && parentPath.lastIndexOf('/') > 0) {
      parentPath = parentPath.slice(0, parentPath.lastIndexOf('/'));
      parent = byPath.get(parentPath);
    }
    const node: TreeNode = { name: parent ? actor.path.slice(parentPath.length + 1) : actor.path, actor, children: [] };
    byPath.set(actor.path, node);
    (parent ? parent.children : roots).push(node);
  }
  return roots;
}

/** Actors under `prefix` (the actor at it included). */
export function actorsUnder(actors: readonly ActorSummary[], prefix: string): ActorSummary[] {
  const base = prefix.replace(/\/+$/, '');
  return actors.filter((actor) => actor.path === base || actor.path.startsWith(`${base}/`));
}

function ago(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86_400)}d ago`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/**
 * A log line for people: time, level, actor (or component), message, the other fields as key=value.
 * Alarms (warnings whose message starts with "alarm") are marked. A line that is not ours is shown as is.
 */
export function formatLogLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return line;
    record = parsed as Record<string, unknown>;
  } catch {
    return line;
  }
  const { t, level, msg, node: _node, actor, component, ...fields } = record;
  const time = typeof t === 'string' ? t.slice(11, 23) : '';
  const levelText = String(level ?? '').toUpperCase().padEnd(5);
  const where = typeof actor === 'string' ? actor : typeof component === 'string' ? component : '';
  const alarm = level === 'warn' && typeof msg === 'string' && msg.startsWith('alarm') ? 'ALARM ' : '';
  const rest = Object.entries(fields).map(([name, value]) => `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return [time, levelText, where, `${alarm}${String(msg ?? '')}`, ...rest].filter((part) => part.length > 0).join(' ');
}
