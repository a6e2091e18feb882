import { expect } from 'chai';
import { awsUriEncode, escapeXmlText, percentDecode, s3UrlEncode } from '../../../../src/protocol/s3/encoding.js';

describe('protocol/s3/encoding', () => {
  it('escapes XML text, writing control characters as references', () => {
    expect(escapeXmlText('plain/key.txt')).to.equal('plain/key.txt');
    expect(escapeXmlText('&<>"\'')).to.equal('&amp;&lt;&gt;&quot;&apos;');
    expect(escapeXmlText('\u0000\u0008\u000b\u000c\r\u001f\u007f')).to.equal('&#x0;&#x8;&#xB;&#xC;&#xD;&#x1F;&#x7F;');
    expect(escapeXmlText('tab\tnewline\n€😀')).to.equal('tab\tnewline\n€😀');
  });

  it('escapes exactly the code units XML text cannot hold as they are, wherever they stand', () => {
    const mustEscape = /[&<>"'\u0000-\u0008\u000b-\u001f\u007f\ufffe\uffff]/;
    const differing: number[] = [];
    for (let code = 0; code < 0x10000; code++) {
      const text = `key${String.fromCharCode(code)}`;
      if ((escapeXmlText(text) !== text) !== mustEscape.test(text)) differing.push(code);
    }
    expect(differing).to.deep.equal([]);
    expect(escapeXmlText('a<b')).to.equal('a&lt;b');
  });

  it("encodes listing values the way S3's encoding-type=url does", () => {
    expect(s3UrlEncode('a b+c/d*e~f')).to.equal('a+b%2Bc/d*e%7Ef');
    expect(s3UrlEncode('é€')).to.equal('%C3%A9%E2%82%AC');
    expect(s3UrlEncode('A-Z_a.z09')).to.equal('A-Z_a.z09');
    expect(s3UrlEncode('%&=?#\r')).to.equal('%25%26%3D%3F%23%0D');
  });

  it('encodes for SigV4 per RFC 3986', () => {
    expect(awsUriEncode('a b/c~d', true)).to.equal('a%20b/c~d');
    expect(awsUriEncode('a b/c~d', false)).to.equal('a%20b%2Fc~d');
    expect(awsUriEncode("!'()*$+,;=", false)).to.equal('%21%27%28%29%2A%24%2B%2C%3B%3D');
    expect(awsUriEncode('€', false)).to.equal('%E2%82%AC');
  });

  it('decodes strictly', () => {
    expect(percentDecode('a%20b+c', false)).to.equal('a b+c');
    expect(percentDecode('a%20b+c', true)).to.equal('a b c');
    expect(percentDecode('%E2%82%AC', false)).to.equal('€');
    expect(percentDecode('%E2%82', false)).to.equal(undefined);
    expect(percentDecode('%G0', false)).to.equal(undefined);
    expect(percentDecode('100%', false)).to.equal(undefined);
  });
});
