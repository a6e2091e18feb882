import { expect } from 'chai';
import { splitCommands, splitWords } from '../../../src/cli/shell-words.js';

const texts = (line: string): string[] => {
  const split = splitWords(line);
  if (!split.ok) throw new Error(split.problem);
  return split.words.map((word) => word.text);
};

describe('cli/shell-words', () => {
  it('splits at white space, with quotes and backslashes', () => {
    expect(texts('  actors   storage_0 ')).to.deep.equal(['actors', 'storage_0']);
    expect(texts(`adm create-user "alice smith" --role 'admin'`)).to.deep.equal(['adm', 'create-user', 'alice smith', '--role', 'admin']);
    expect(texts('a\\ b "x\\"y" \'it\\\'s\'')).to.deep.equal(['a b', 'x"y', "it's"]);
    expect(texts('pre"fix"ed')).to.deep.equal(['prefixed']);
    expect(texts('')).to.deep.equal([]);
  });

  it('says where each word starts, so send can take the rest of the line as it was typed', () => {
    const line = "send storage_0 /node/info {type: 'ping', delayMs: 5}";
    const split = splitWords(line);
    expect(split.ok).to.equal(true);
    if (!split.ok) return;
    expect(line.slice(split.words[3]!.start)).to.equal("{type: 'ping', delayMs: 5}");
  });

  it('refuses an unclosed quote', () => {
    expect(splitWords('send n /p "open')).to.deep.equal({ ok: false, problem: 'unclosed " at column 11' });
  });

  it('cuts --eval text at semicolons outside quotes', () => {
    expect(splitCommands('nodes; actors storage_0 ;; ')).to.deep.equal(['nodes', 'actors storage_0']);
    expect(splitCommands(`send s /p {note: 'a;b', other: "c;d"}; nodes`)).to.deep.equal([`send s /p {note: 'a;b', other: "c;d"}`, 'nodes']);
    expect(splitCommands(`send s /p {note: 'it\\'s; fine'}; nodes`)).to.deep.equal([`send s /p {note: 'it\\'s; fine'}`, 'nodes']);
    expect(splitCommands('send s /p {bad; nodes')).to.deep.equal(['send s /p {bad', 'nodes']);
  });
});
