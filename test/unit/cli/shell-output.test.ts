import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { inert, streamOutput } from '../../../src/cli/shell-output.js';

describe('cli/shell-output', () => {
  it('shows control characters escaped, keeping newlines and tabs', () => {
    expect(inert('key=\u001b[2Jgone\r\u0007 \u009b1m')).to.equal('key=\\u001b[2Jgone\\u000d\\u0007 \\u009b1m');
    expect(inert('a\tb\nc é')).to.equal('a\tb\nc é');
  });

  it('never writes a raw escape sequence to the terminal', async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const output = streamOutput(stdout, stderr);
    output.out('GET photos/\u001b]0;owned\u0007');
    output.err('bad \u001b[31m');
    await output.flush();
    expect(String(stdout.read())).to.equal('GET photos/\\u001b]0;owned\\u0007\n');
    expect(String(stderr.read())).to.equal('error: bad \\u001b[31m\n');
  });
});
