import { expect } from 'chai';
import { CONTENT_SECURITY_POLICY, isLoopbackHost, parseCookies, parseFields, sameOrigin, sessionCookie } from '../../../../src/protocol/console/web.js';

describe('web console HTTP conventions', () => {
  it('sets a session cookie no script reads, sent to this site only, with an end', () => {
    const cookie = sessionCookie('abc', 1800, false);
    expect(cookie).to.equal('leofs_console=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=1800');
    expect(sessionCookie('abc', 1800, true)).to.match(/; Secure$/);
    // Under TLS the __Host- prefix: the browser keeps it only Secure, for this host, on every path.
    expect(sessionCookie('abc', 1800, true)).to.match(/^__Host-leofs_console=abc; Path=\/; /);
    expect(sessionCookie('', 0, false)).to.include('Max-Age=0');
  });

  it('reads cookies, keeping the first of a name given twice', () => {
    expect([...parseCookies('a=1; leofs_console=s1; leofs_console=s2; junk')]).to.deep.equal([['a', '1'], ['leofs_console', 's1']]);
    expect(parseCookies(undefined).size).to.equal(0);
  });

  it('reads form and JSON bodies, and nothing else', () => {
    expect(parseFields('application/x-www-form-urlencoded; charset=UTF-8', 'accessKeyId=K&secret=a%2Bb')?.get('secret')).to.equal('a+b');
    expect(parseFields('application/json', '{"userId":"alice","n":3}')).to.deep.equal(new Map([['userId', 'alice']]));
    expect(parseFields('application/json', '[1]')).to.equal(undefined);
    expect(parseFields('application/json', '{')).to.equal(undefined);
    expect(parseFields('text/plain', 'userId=alice')).to.equal(undefined);
  });

  it('allows scripts from the console itself only', () => {
    expect(CONTENT_SECURITY_POLICY).to.include("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).to.not.include('unsafe-inline');
    expect(CONTENT_SECURITY_POLICY).to.include("frame-ancestors 'none'");
  });

  it("takes a change from the console's own origin, or from a browser that names none", () => {
    expect(sameOrigin('http://127.0.0.1:4020', '127.0.0.1:4020', false)).to.equal(true);
    expect(sameOrigin('http://evil.example', '127.0.0.1:4020', false)).to.equal(false);
    expect(sameOrigin('http://127.0.0.1:4020', '127.0.0.1:4020', true)).to.equal(false);
    expect(sameOrigin(undefined, '127.0.0.1:4020', false)).to.equal(true);
  });

  it('tells loopback hosts from others', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopbackHost(host), host).to.equal(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'example.com']) expect(isLoopbackHost(host), host).to.equal(false);
  });
});
