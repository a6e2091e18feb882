/**
 * Access control, CORS, browser form uploads and encryption as boto3 drives them
 * (test/support/boto3-features.py), against a gateway in this process. boto3 and requests are the
 * Debian packages python3-boto3 and python3-requests, installed by .ci/run; where they are missing
 * the test says so and is skipped.
 */
import { expect } from 'chai';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startHarness, USERS, type Harness } from '../../support/gateway-harness.js';

const SCRIPT = fileURLToPath(new URL('../../../../test/support/boto3-features.py', import.meta.url));

function boto3Installed(): boolean {
  try {
    execFileSync('python3', ['-c', 'import boto3, requests'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

describe('actors/gateway features through boto3', function () {
  this.timeout(120_000);
  let h: Harness | undefined;

  before(function () {
    if (!boto3Installed()) {
      console.warn('      python3 with boto3 and requests is missing (Debian python3-boto3, python3-requests): boto3 test skipped');
      this.skip();
    }
  });

  afterEach(async () => {
    await h?.close();
  });

  it('sets and obeys bucket policies, ACLs, CORS, signed forms, SSE-C, SSE-S3, SSE-KMS and the public access block', async () => {
    h = await startHarness({ masterKeys: { current: 'k1', keys: new Map([['k1', randomBytes(32)]]) } });
    h.admin.addBucket('boto3-bucket', 'alice');
    const { alice, bob } = USERS;
    const outcome = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('python3', [SCRIPT, h!.endpoint, 'boto3-bucket', alice.accessKeyId, alice.secretAccessKey, bob.accessKeyId, bob.secretAccessKey, bob.userId, 'k1'],
        { timeout: 100_000, env: { ...process.env, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' } },
        (error, stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr }));
    });
    expect(outcome.code, outcome.stderr).to.equal(0);
    expect(outcome.stdout.trim()).to.equal('ok');
  });
});
