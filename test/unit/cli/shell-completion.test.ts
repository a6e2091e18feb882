import { expect } from 'chai';
import { completeLine, completionTarget, type CompletionSources } from '../../../src/cli/shell-completion.js';

const sources: CompletionSources = {
  commands: ['actors', 'adm', 'exit', 'follow', 'help', 'nodes', 'queues', 'quit', 'send'],
  admCommands: ['status', 'start', 'mq-stats', 'get-users'],
  admNodeCommands: ['status', 'mq-stats'],
  nodes: ['manager_0@127.0.0.1', 'storage_0@127.0.0.1', 'storage_1@127.0.0.1'],
  actorPaths: (node) => (node === 'storage_0' ? ['/node', '/node/info', '/node/ring', '/node/storage', '/node/storage/vnode_1', '/node/storage/vnode_2', '/node/storage/vnode_1/x'] : undefined),
};

describe('cli/shell-completion', () => {
  it('completes command names first, and after help', () => {
    expect(completeLine('', sources)).to.deep.equal([sources.commands, '']);
    expect(completeLine('q', sources)).to.deep.equal([['queues', 'quit'], 'q']);
    expect(completeLine('help fo', sources)).to.deep.equal([['follow'], 'fo']);
  });

  it('completes node names where a command takes a node', () => {
    expect(completeLine('actors st', sources)).to.deep.equal([['storage_0@127.0.0.1', 'storage_1@127.0.0.1'], 'st']);
    expect(completeLine('follow m', sources)).to.deep.equal([['manager_0@127.0.0.1'], 'm']);
    expect(completeLine('send ', sources)[0]).to.have.length(3);
    expect(completeLine('nodes x', sources)).to.deep.equal([[], 'x']);
    expect(completeLine('follow storage_0 1', sources)).to.deep.equal([[], '1']);
  });

  it('completes actor paths one level at a time', () => {
    expect(completeLine('send storage_0 ', sources)).to.deep.equal([['/node', '/node/'], '']);
    expect(completeLine('send storage_0 /node/', sources)).to.deep.equal([['/node/info', '/node/ring', '/node/storage', '/node/storage/'], '/node/']);
    expect(completeLine('actors storage_0 /node/storage/v', sources)).to.deep.equal([['/node/storage/vnode_1', '/node/storage/vnode_1/', '/node/storage/vnode_2'], '/node/storage/v']);
    expect(completeLine('send storage_1 /n', sources), 'paths not fetched yet').to.deep.equal([[], '/n']);
  });

  it('completes adm commands and the node they take', () => {
    expect(completeLine('adm st', sources)).to.deep.equal([['start', 'status'], 'st']);
    expect(completeLine('adm --json mq-stats stor', sources)).to.deep.equal([['storage_0@127.0.0.1', 'storage_1@127.0.0.1'], 'stor']);
    expect(completionTarget('adm get-users ', sources)).to.deep.equal({ kind: 'none' });
  });
});
