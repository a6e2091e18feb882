/**
 * The Cluster page's live feed against a stand-in for the status read that answers when told: a
 * refresh asked for while a read runs (a node was just suspended) is followed by one more read, so
 * the pages see the change without waiting for the next tick.
 */
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { StatusFeed } from '../../../../src/actors/manager/console/status-feed.js';
import type { ClusterView } from '../../../../src/actors/manager/console/cluster-view.js';
import { ManualClock } from '../../../../src/runtime/clock.js';
import { memoryLogger } from '../../../../src/runtime/logger.js';
import { eventually } from '../../../support/eventually.js';

type Read = { readonly ok: true; readonly view: ClusterView } | { readonly ok: false; readonly code: string; readonly message: string };

/** A page following the feed: what it was written. */
class FakeResponse extends EventEmitter {
  readonly written: string[] = [];
  writeHead(): this {
    return this;
  }
  write(chunk: string): boolean {
    this.written.push(chunk);
    return true;
  }
  end(chunk?: string): this {
    if (chunk !== undefined) this.written.push(chunk);
    return this;
  }
}

describe('web console status feed', () => {
  it('reads the cluster once more when a refresh is asked for while a read runs', async () => {
    const pending: Array<(read: Read) => void> = [];
    const feed = new StatusFeed({
      clock: new ManualClock(),
      logger: memoryLogger('error').logger,
      intervalMs: 60_000,
      read: () => new Promise<Read>((resolve) => pending.push(resolve)),
      isLive: () => true,
      maxListeners: 4,
    });
    const page = new FakeResponse();
    try {
      expect(feed.listen(page as unknown as ServerResponse, 'token', {})).to.equal(true);
      expect(pending, 'the first read, for the new listener').to.have.length(1);
      feed.refresh();
      expect(pending, 'no second read while the first runs').to.have.length(1);
      pending[0]!({ ok: false, code: 'Before', message: 'read before the change' });
      await eventually(() => Promise.resolve(pending.length === 2), 5_000, 'a read after the refresh');
      pending[1]!({ ok: false, code: 'After', message: 'read after the change' });
      await eventually(() => Promise.resolve(page.written.some((chunk) => chunk.includes('"After"'))), 5_000, 'the page told the cluster after the change');
      expect(pending, 'one more read, not one per refresh').to.have.length(2);
    } finally {
      feed.close();
    }
  });
});
