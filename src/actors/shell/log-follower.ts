/**
 * The admin shell's own actor: it receives the log lines of the node the shell follows (see the
 * `follow` message of every node's info actor) and hands them to the shell to print. Lines come from
 * the wire, so a batch that is not shaped as one is dropped.
 */
import type { Behavior } from '../../runtime/actor.js';
import type { LogLinesMessage } from '../../protocol/cluster/node-info.js';
import { actorRef, type ActorRef } from '../../runtime/refs.js';

/** Where the shell's node runs its actors, and where followed nodes send their lines. */
export const SHELL_ROOT_NAME = 'shell';
export const LOG_FOLLOWER_NAME = 'follower';

export const logFollowerRef = (shellNode: string): ActorRef<LogLinesMessage> => actorRef(shellNode, `/${SHELL_ROOT_NAME}/${LOG_FOLLOWER_NAME}`);

export function logFollowerBehavior(onLines: (batch: LogLinesMessage) => void): Behavior<null, LogLinesMessage> {
  return {
    accepts: ['log'],
    init: () => null,
    receive(state, message, ctx) {
      const wellFormed =
        typeof message.node === 'string' &&
        Array.isArray(message.lines) &&
        message.lines.every((line) => typeof line === 'string') &&
        Number.isSafeInteger(message.dropped);
      if (wellFormed) onLines(message);
      else ctx.log.warn('dropped a malformed batch of log lines', { node: String(message.node) });
      return state;
    },
  };
}
