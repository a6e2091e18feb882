import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorageClient, type BodyStaging } from '../../../src/actors/common/storage-client.js';
import { applyReplicaWrite } from '../../../src/actors/storage/replica-ops.js';
import type { StagedBodyRef } from '../../../src/core/staged-body-ref.js';
import { preferenceList } from '../../../src/core/ring/ring.js';
import { keyPosition } from '../../../src/core/ring/position.js';
import type { ObjectFields } from '../../../src/protocol/cluster/storage-api.js';
import { routerOf, type ReplicaPutReply, type RouterMessage } from '../../../src/protocol/cluster/storage.js';
import type { RuntimeFailure } from '../../../src/runtime/failures.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { machineIdentity } from '../../../src/store/same-machine.js';
import { StagingArea } from '../../../src/store/staged-bodies.js';
import { eventually, objectFields, StorageCluster } from '../../support/storage-cluster.js';

const MiB = 1024 * 1024;
const fields = (key: string, body: Buffer): ObjectFields => objectFields('b1', key, body, 'application/octet-stream');

/**
 * Stages what it is given reversed, so that a replica that holds the reversed bytes read them from the
 * staging file, and one that holds them as written was sent them.
 */
class ReversingStaging implements BodyStaging {
  staged = 0;
  readonly discarded: StagedBodyRef[] = [];
  constructor(readonly area: StagingArea) {}
  stage(bytes: Uint8Array): Promise<StagedBodyRef | undefined> {
    this.staged++;
    return this.area.stage(Buffer.from(bytes).reverse());
  }
  discard(ref: StagedBodyRef): void {
    this.discarded.push(ref);
    this.area.discard(ref);
  }
}

describe('bodies staged on the same machine (in-process cluster)', function () {
  this.timeout(60_000);
  let cluster: StorageCluster | undefined;
  let dir: string;
  let machine: string;

  before(function () {
    // Machines are told apart by what Linux shows in /proc; elsewhere nothing is staged.
    const identity = machineIdentity();
    if (identity === undefined) this.skip();
    machine = identity;
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-staged-writes-'));
  });
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(machines: readonly (string | undefined)[], stagingMachine = machine): Promise<{ client: StorageClient; staging: ReversingStaging; stagingDir: string }> {
    const started = new StorageCluster(machines.length, { n: 3, w: 2, r: 1, d: 2, rackAware: false }, (index) => (machines[index] !== undefined ? { machine: machines[index] } : {}));
    cluster = started;
    await started.start();
    const stagingDir = join(dir, 'staging');
    const staging = new ReversingStaging(new StagingArea(stagingDir, stagingMachine, memoryLogger('error').logger));
    const { clientNode } = started;
    const client = new StorageClient({
      system: clientNode.system, ringView: started.clientRing, isKnownDown: (n) => clientNode.transport.isKnownDown(n), isUp: (n) => clientNode.transport.isUp(n), requestTimeoutMs: 10_000, staging, now: () => Date.now(),
    });
    return { client, staging, stagingDir };
  }

  const replicasOf = (key: string): readonly string[] => preferenceList(cluster!.clientRing.current!.current, keyPosition('b1', key), cluster!.doc.settings.n);
  /** The body each replica of `key` holds for its current version. */
  async function heldBodies(key: string): Promise<Map<string, Buffer | undefined>> {
    const held = new Map<string, Buffer | undefined>();
    for (const node of replicasOf(key)) {
      const store = cluster!.node(node).role!.context.store;
      const meta = store.getMeta({ kind: 'chunk', bucket: 'b1', key });
      const body = meta && (await store.readBody({ kind: 'chunk', bucket: 'b1', key }, meta.clock));
      held.set(node, body instanceof Uint8Array ? Buffer.from(body) : undefined);
    }
    return held;
  }
  /** Files this process (every node of the in-process cluster) holds open in the staging directory. */
  const openStagingFiles = (): string[] =>
    readdirSync('/proc/self/fd').flatMap((fd) => {
      try {
        const target = readlinkSync(`/proc/self/fd/${fd}`);
        return target.includes(`${dir}/staging/`) ? [target] : [];
      } catch {
        return [];
      }
    });
  /** A key whose first replica (its coordinator) is `node`, or is not when `not`. */
  const keyCoordinatedBy = (node: string, not = false): string => {
    for (let i = 0; ; i++) if ((replicasOf(`k${i}`)[0] === node) !== not) return `k${i}`;
  };

  it('every replica on the machine reads a large body from the staging file, which goes once the write is answered', async () => {
    const { client, staging, stagingDir } = await start([undefined, undefined, undefined]);
    const body = randomBytes(2 * MiB + 123);
    expect(await client.put('chunk', fields('large', body), body)).to.include({ ok: true });
    expect(staging.staged).to.equal(1);
    const reversed = Buffer.from(body).reverse();
    // The replica the quorum did not wait for may still be writing.
    await eventually(async () => [...(await heldBodies('large')).values()].every((held) => held?.equals(reversed) === true), 10_000, 'every replica holding the staged body');
    expect(staging.discarded).to.have.length(1);
    await eventually(() => readdirSync(stagingDir).length === 0, 5_000, 'the staging file removed');
    await eventually(() => openStagingFiles().length === 0, 5_000, 'every reader closing the staging file');

    // Small bodies, and conditional writes, are sent.
    const small = randomBytes(512 * 1024);
    expect(await client.put('chunk', fields('small', small), small)).to.include({ ok: true });
    const conditional = randomBytes(2 * MiB);
    expect(await client.put('chunk', fields('conditional', conditional), conditional, { ifNoneMatch: '*' })).to.include({ ok: true });
    expect(staging.staged).to.equal(1);
    await eventually(async () => [...(await heldBodies('small')).values()].every((held) => held?.equals(small) === true), 10_000, 'the small body everywhere');
  });

  it('a coordinator on another machine is sent the bytes, and staged nothing for again', async () => {
    const { client, staging } = await start([undefined, undefined, undefined], 'another machine');
    const key = keyCoordinatedBy(cluster!.nodes[0]!.name);
    for (let round = 0; round < 2; round++) {
      const body = randomBytes(MiB + round);
      expect(await client.put('chunk', fields(key, body), body)).to.include({ ok: true });
      await eventually(async () => [...(await heldBodies(key)).values()].every((held) => held?.equals(body) === true), 10_000, 'every replica holding the bytes');
    }
    // Refused once as from another machine: the second write went as bytes without staging.
    expect(staging.staged).to.equal(1);
  });

  it('a replica on another machine is sent the bytes by its coordinator, which reads them from the staging file', async () => {
    const { client } = await start([undefined, undefined, 'another machine']);
    const far = cluster!.nodes[2]!.name;
    const key = keyCoordinatedBy(far, true);
    const coordinator = replicasOf(key)[0]!;
    const body = randomBytes(3 * MiB);
    expect(await client.put('chunk', fields(key, body), body)).to.include({ ok: true });
    const reversed = Buffer.from(body).reverse();
    await eventually(async () => [...(await heldBodies(key)).values()].every((held) => held?.equals(reversed) === true), 10_000, 'every replica holding the staged body');
    const bytesOnly = cluster!.node(coordinator).role!.context.bytesOnlyPeers;
    expect(cluster!.nodes.map((node) => node.name).filter((node) => bytesOnly.has(node))).to.deep.equal([far]);
    await eventually(() => openStagingFiles().length === 0, 5_000, 'the coordinator closing the staging file');
  });

  it('writes a staged body again, stamped above a later version its replicas held, from the same staging file', async () => {
    const { client, staging } = await start([undefined, undefined, undefined]);
    // Every replica holds a version stamped a minute ahead of the coordinators' clocks.
    const ahead = { wallMs: Date.now() + 60_000, counter: 0, node: 'elsewhere@127.0.0.1' };
    const older = randomBytes(1000);
    for (const node of replicasOf('ahead')) {
      const meta = { ...fields('ahead', older), clock: ahead, lastModifiedMs: ahead.wallMs, ringChecksum: cluster!.clientRing.current!.checksum, deleted: false };
      expect(await applyReplicaWrite(cluster!.node(node).role!.context, { objectKind: 'chunk', meta, body: older, keepPrevious: false })).to.include({ ok: true, applied: true });
    }
    const body = randomBytes(2 * MiB);
    const put = await client.put('chunk', fields('ahead', body), body);
    if (!put.ok) throw new Error(JSON.stringify(put));
    expect(put.meta.clock.wallMs).to.be.at.least(ahead.wallMs);
    expect(staging.staged).to.equal(1);
    const reversed = Buffer.from(body).reverse();
    await eventually(async () => [...(await heldBodies('ahead')).values()].every((held) => held?.equals(reversed) === true), 10_000, 'every replica holding the staged body');
    await eventually(() => openStagingFiles().length === 0, 5_000, 'every reader closing the staging file');
  });

  it('a replica refuses a staged body it may not take, and a malformed one', async () => {
    await start([undefined, undefined, undefined]);
    const area = new StagingArea(join(dir, 'staging'), machine, memoryLogger('error').logger);
    const body = randomBytes(MiB);
    const ref = (await area.stage(body))!;
    const node = cluster!.nodes[0]!.name;
    const clock = { wallMs: Date.now(), counter: 0, node };
    const meta = { ...fields('direct', body), clock, lastModifiedMs: clock.wallMs, ringChecksum: cluster!.clientRing.current!.checksum, deleted: false };
    const replicaPut = (extra: Record<string, unknown>): Promise<ReplicaPutReply | RuntimeFailure> =>
      cluster!.clientNode.system.ask<RouterMessage, ReplicaPutReply>(routerOf(node), (replyTo) => ({ type: 'replica_put_staged', objectKind: 'chunk', meta, keepPrevious: false, ...extra, replyTo }) as unknown as RouterMessage, 10_000);

    expect(await replicaPut({ stagedBody: { ...ref, machine: 'another machine' } })).to.include({ ok: false, code: 'StagedBodyRefused', everyStagedBody: true });
    const mismatch = await replicaPut({ stagedBody: { ...ref, sizeBytes: ref.sizeBytes - 1 } });
    expect(mismatch).to.include({ ok: false, code: 'StagedBodyRefused' });
    expect(mismatch).not.to.have.property('everyStagedBody');
    expect(await replicaPut({ stagedBody: { ...ref, path: '/etc/passwd' } })).to.include({ ok: false, code: 'StagedBodyRefused' });
    // Malformed: no reference, or a body larger than a writer may send in one message.
    expect(await replicaPut({ stagedBody: { path: 42 } })).to.include({ ok: false, code: 'StoreError' });
    expect(await replicaPut({ stagedBody: { ...ref, sizeBytes: 64 * MiB } })).to.include({ ok: false, code: 'StoreError' });

    expect(await replicaPut({ stagedBody: ref })).to.include({ ok: true, applied: true });
    const stored = await cluster!.node(node).role!.context.store.readBody({ kind: 'chunk', bucket: 'b1', key: 'direct' }, clock);
    expect(Buffer.from(stored as Uint8Array).equals(body)).to.equal(true);
  });
});
