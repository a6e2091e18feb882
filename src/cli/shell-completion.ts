/**
 * Tab completion for the shell: command names, node names where a command takes a node, actor paths
 * where it takes a path (one path level at a time, as a file system's completion does), and the
 * commands of `adm`. Pure: the names come in `CompletionSources`, which the session keeps fresh.
 */

export interface CompletionSources {
  readonly commands: readonly string[];
  readonly admCommands: readonly string[];
  /** adm commands whose first argument is a node. */
  readonly admNodeCommands: readonly string[];
  readonly nodes: readonly string[];
  /** The actor paths known for `node`, if they were fetched. */
  readonly actorPaths: (node: string) => readonly string[] | undefined;
}

/** What the word being typed is. */
export type CompletionTarget =
  | { readonly kind: 'command' }
  | { readonly kind: 'adm_command' }
  | { readonly kind: 'node' }
  | { readonly kind: 'actor_path'; readonly node: string }
  | { readonly kind: 'none' };

/** Commands whose first argument is a node; of those, the ones whose second is an actor path. */
const NODE_FIRST = ['actors', 'queues', 'follow', 'send'];
const PATH_SECOND = ['actors', 'send'];

/** The words before the cursor, and the one being typed (empty after a space). */
function wordsOf(line: string): { before: string[]; current: string } {
  const words = line.split(/\s+/).filter((word, index, all) => word.length > 0 || index === all.length - 1);
  const current = /\s$/.test(line) || line.length === 0 ? '' : (words.pop() ?? '');
  return { before: words.filter((word) => word.length > 0), current };
}

export function completionTarget(line: string, sources: Pick<CompletionSources, 'admNodeCommands'>): CompletionTarget {
  const { before } = wordsOf(line);
  const command = before[0];
  if (command === undefined) return { kind: 'command' };
  if (command === 'help' && before.length === 1) return { kind: 'command' };
  if (command === 'adm') {
    const args = before.slice(1).filter((word) => !word.startsWith('-'));
    if (args.length === 0) return { kind: 'adm_command' };
    if (args.length === 1 && sources.admNodeCommands.includes(args[0]!)) return { kind: 'node' };
    return { kind: 'none' };
  }
  if (NODE_FIRST.includes(command) && before.length === 1) return { kind: 'node' };
  if (PATH_SECOND.includes(command) && before.length === 2) return { kind: 'actor_path', node: before[1]! };
  return { kind: 'none' };
}

/** readline's completion: the candidates for the word being typed, and that word. */
export function completeLine(line: string, sources: CompletionSources): [string[], string] {
  const { current } = wordsOf(line);
  const target = completionTarget(line, sources);
  const starting = (names: readonly string[]): string[] => [...new Set(names.filter((name) => name.startsWith(current)))].sort();
  switch (target.kind) {
    case 'command':
      return [starting(sources.commands), current];
    case 'adm_command':
      return [starting(sources.admCommands), current];
    case 'node':
      return [starting(sources.nodes), current];
    case 'actor_path':
      return [nextLevel(sources.actorPaths(target.node) ?? [], current), current];
    case 'none':
      return [[], current];
  }
}

/** The paths that extend `typed`, each cut after the path level being typed (`/node/storage/` stands for its children). */
function nextLevel(paths: readonly string[], typed: string): string[] {
  const out = new Set<string>();
  for (const path of paths) {
    if (!path.startsWith(typed)) continue;
    const rest = path.slice(typed.length);
    const slash = rest.indexOf('/', 1);
    out.add(slash < 0 ? path : typed + rest.slice(0, slash + 1));
  }
  return [...out].sort();
}
