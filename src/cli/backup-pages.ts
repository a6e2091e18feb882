/**
 * Fetches a backup the leading manager prepared, page by page from its consensus actor (a large
 * control plane does not fit in one answer), and puts the snapshot together.
 */
import type { StateSnapshot } from '../core/consensus/raft-messages.js';
import { joinTables, type SnapshotTables } from '../core/consensus/snapshot-pages.js';
import type { BackupHeader } from '../protocol/cluster/consensus.js';
import { consensusRef } from '../protocol/cluster/paths.js';
import { isRuntimeFailure } from '../runtime/failures.js';
import { ask } from '../runtime/typed-ask.js';
import type { AdminClient } from './admin-client.js';

export async function fetchBackup(client: AdminClient, backup: BackupHeader, timeoutMs: number): Promise<StateSnapshot> {
  const pages: SnapshotTables[] = [];
  for (let page = 0; page < backup.pages; page++) {
    const reply = await ask(client.node.system, consensusRef(client.managerNode), { type: 'backup_page', backupId: backup.backupId, page }, timeoutMs);
    if (isRuntimeFailure(reply)) throw new Error(`page ${page + 1} of ${backup.pages} of the backup did not arrive: ${reply.message} (${reply.code})`);
    if (!reply.ok) throw new Error(reply.message);
    pages.push(reply.tables);
  }
  return { id: backup.id, index: backup.index, term: backup.term, tables: joinTables(pages) };
}
