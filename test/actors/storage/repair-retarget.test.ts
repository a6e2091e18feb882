/**
 * A repair queued for a node that has since left the ring (a rebalance moved its ranges away) is not
 * kept for ever: it goes to the key's holders now, and the item for the departed node is dropped.
 */
import { expect } from 'chai';
import { keyPosition } from '../../../src/core/ring/position.js';
import { preferenceList } from '../../../src/core/ring/ring.js';
import { repairItemKey, type RepairItem } from '../../../src/actors/storage/storage-context.js';
import { eventually } from '../../support/eventually.js';
import { objectFields, StorageCluster } from '../../support/storage-cluster.js';

const DEPARTED = 'storage_9@127.0.0.1';

describe('repairs aimed at a node that left the ring (in-process cluster)', function () {
  this.timeout(30_000);
  let cluster: StorageCluster;

  before(async () => {
    cluster = new StorageCluster(3, { n: 2, w: 2, r: 1, d: 2, rackAware: false }, () => ({}), 'debug');
    await cluster.start();
  });
  after(async () => {
    await cluster.stop();
  });

  it('re-targets them at the key\'s holders now and drops the item for the departed node', async () => {
    const key = 'retargeted';
    expect(await cluster.client.put('object', objectFields('b', key, 'body'), Buffer.from('body'))).to.include({ ok: true });
    const [first, second] = preferenceList(cluster.clientRing.current!.current, keyPosition('b', key), 2);
    const holder = cluster.nodes.find((node) => node.name === first)!;
    const item: RepairItem = { peer: DEPARTED, objectKind: 'object', bucket: 'b', key };
    await holder.role!.context.repairs.enqueue(repairItemKey(item), item, Date.now());
    await eventually(() => holder.role!.context.repairs.length === 0, 10_000, 'the repair queue drained');
    const lines = holder.logs.lines;
    expect(lines.some((line) => line.msg === "repair for a node that left the ring sent to the key's holders" && line.peer === DEPARTED && line.key === key)).to.equal(true);
    // Its one other holder got the repair in its place; nothing was sent to the departed node.
    expect(lines.some((line) => line.msg === 'repaired' && line.peer === second && line.key === key)).to.equal(true);
    expect(lines.some((line) => line.msg === 'repaired' && line.peer === DEPARTED)).to.equal(false);
  });
});
