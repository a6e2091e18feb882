import { expect } from 'chai';
import { errorJson, prefersXml, restErrorDocument } from '../../../../src/protocol/rest/errors.js';
import { S3Error, errorXml } from '../../../../src/protocol/s3/errors.js';

describe('protocol/rest errors', () => {
  it('tells an S3 error as one JSON object: code, message, resource, request id and the error\'s fields', () => {
    const error = new S3Error('NoSuchKey', undefined, { fields: { Key: 'a "b"' } });
    expect(JSON.parse(errorJson(error, { resource: '/docs/a "b"', requestId: 'R1', hostId: 'H' }))).to.deep.equal({
      error: { code: 'NoSuchKey', message: 'The specified key does not exist.', resource: '/docs/a "b"', requestId: 'R1', details: { Key: 'a "b"' } },
    });
    expect(JSON.parse(errorJson(new S3Error('AccessDenied'), { requestId: 'R2' }))).to.deep.equal({
      error: { code: 'AccessDenied', message: 'Access Denied', requestId: 'R2' },
    });
  });

  it('prefers JSON unless Accept ranks an XML type above it, counting the wildcards that include JSON for it', () => {
    for (const accept of [
      undefined, '', '*/*', 'application/json', 'application/xml, application/json', 'application/xml;q=0.4, application/json;q=0.5', 'application/xml;q=0',
      'application/xml;q=0.5, */*', 'text/xml;q=0.9, application/*', 'application/xml, */*',
    ]) {
      expect(prefersXml(accept), String(accept)).to.equal(false);
    }
    for (const accept of ['application/xml', 'text/xml', 'application/json;q=0.2, application/xml', 'text/html, application/xml;q=0.9, */*;q=0.8']) {
      expect(prefersXml(accept), accept).to.equal(true);
    }
  });

  it('gives the S3 XML document to a client that asks for XML', () => {
    const error = new S3Error('NoSuchBucket');
    const context = { resource: '/b', requestId: 'R' };
    expect(restErrorDocument(error, context, 'application/xml')).to.deep.equal({ contentType: 'application/xml', body: errorXml(error, context), vary: 'Accept' });
    expect(restErrorDocument(error, context, undefined)).to.deep.equal({ contentType: 'application/json', body: errorJson(error, context), vary: 'Accept' });
  });
});
