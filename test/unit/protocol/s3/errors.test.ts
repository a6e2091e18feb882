import { expect } from 'chai';
import {
  S3Error, S3_ERRORS, errorHasBody, errorXml, isS3ErrorCode, toS3Error, type S3ErrorCode,
} from '../../../../src/protocol/s3/errors.js';

describe('protocol/s3/errors', () => {
  it('maps every required code to its HTTP status', () => {
    const expected: Array<[S3ErrorCode, number]> = [
      ['AccessDenied', 403], ['BadDigest', 400], ['BucketAlreadyExists', 409], ['BucketAlreadyOwnedByYou', 409],
      ['BucketNotEmpty', 409], ['EntityTooSmall', 400], ['EntityTooLarge', 400], ['IncompleteBody', 400],
      ['InternalError', 500], ['InvalidAccessKeyId', 403], ['InvalidArgument', 400], ['InvalidBucketName', 400],
      ['InvalidDigest', 400], ['InvalidPart', 400], ['InvalidPartOrder', 400], ['InvalidRange', 416],
      ['InvalidRequest', 400], ['KeyTooLongError', 400], ['MalformedXML', 400], ['MetadataTooLarge', 400],
      ['MethodNotAllowed', 405], ['MissingContentLength', 411], ['NoSuchBucket', 404], ['NoSuchKey', 404],
      ['NoSuchUpload', 404], ['NotImplemented', 501], ['PreconditionFailed', 412], ['RequestTimeTooSkewed', 403],
      ['SignatureDoesNotMatch', 403], ['SlowDown', 503], ['ServiceUnavailable', 503],
      ['XAmzContentSHA256Mismatch', 400], ['AuthorizationHeaderMalformed', 400],
      ['AuthorizationQueryParametersError', 400], ['InvalidStorageClass', 400], ['InvalidTag', 400],
      ['NotModified', 304], ['TooManyParts', 400], ['InsufficientStorage', 507], ['MalformedTrailerError', 400],
      ['InvalidPartNumber', 416], ['NoSuchVersion', 404], ['ExpiredToken', 400],
    ];
    for (const [code, status] of expected) {
      expect(new S3Error(code).status, code).to.equal(status);
      expect(S3_ERRORS[code].message, code).to.be.a('string').and.not.equal('');
    }
  });

  it('uses the default message unless given one', () => {
    expect(new S3Error('NoSuchKey').message).to.equal('The specified key does not exist.');
    expect(new S3Error('AccessDenied', 'Request has expired').message).to.equal('Request has expired');
  });

  it('recognises its codes and only those', () => {
    expect(isS3ErrorCode('NoSuchBucket')).to.equal(true);
    expect(isS3ErrorCode('toString')).to.equal(false);
    expect(isS3ErrorCode('Timeout')).to.equal(false);
  });

  it('writes the exact S3 error document', () => {
    const error = new S3Error('NoSuchKey', undefined, { fields: { Key: 'photos/cat.jpg' } });
    expect(errorXml(error, { resource: '/mybucket/photos/cat.jpg', requestId: '4442587FB7D0A2F9', hostId: 'h0st' })).to.equal(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>' +
        '<Message>The specified key does not exist.</Message><Key>photos/cat.jpg</Key>' +
        '<Resource>/mybucket/photos/cat.jpg</Resource><RequestId>4442587FB7D0A2F9</RequestId>' +
        '<HostId>h0st</HostId></Error>',
    );
  });

  it('takes the resource from the error when the context has none, and omits absent parts', () => {
    const error = new S3Error('NoSuchBucket', undefined, { resource: '/b', fields: { BucketName: 'b' } });
    expect(errorXml(error, { requestId: 'r1' })).to.equal(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchBucket</Code>' +
        '<Message>The specified bucket does not exist</Message><BucketName>b</BucketName>' +
        '<Resource>/b</Resource><RequestId>r1</RequestId></Error>',
    );
    expect(errorXml(new S3Error('SlowDown'), { requestId: 'r2' })).to.equal(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>' +
        '<Message>Please reduce your request rate.</Message><RequestId>r2</RequestId></Error>',
    );
  });

  it('escapes keys with markup, quotes and control characters', () => {
    const error = new S3Error('NoSuchKey', undefined, { fields: { Key: 'a&b<c>"d\'\r\u0001' } });
    const xml = errorXml(error, { requestId: 'r' });
    expect(xml).to.contain('<Key>a&amp;b&lt;c&gt;&quot;d&apos;&#xD;&#x1;</Key>');
  });

  it('turns anything that is not an S3Error into a bare InternalError', () => {
    const internal = toS3Error(new Error('ECONNREFUSED 10.0.0.7:9000 at Object.connect (/srv/app/x.js:1:1)'));
    expect(internal.code).to.equal('InternalError');
    expect(internal.status).to.equal(500);
    expect(internal.message).to.equal('We encountered an internal error. Please try again.');
    const xml = errorXml(internal, { requestId: 'r' });
    expect(xml).to.not.contain('ECONNREFUSED');
    expect(xml).to.not.contain('x.js');
    const known = new S3Error('SlowDown');
    expect(toS3Error(known)).to.equal(known);
    expect(toS3Error('string').code).to.equal('InternalError');
  });

  it('knows which responses may carry the body', () => {
    expect(errorHasBody(new S3Error('NotModified'), 'GET')).to.equal(false);
    expect(errorHasBody(new S3Error('NoSuchKey'), 'HEAD')).to.equal(false);
    expect(errorHasBody(new S3Error('NoSuchKey'), 'GET')).to.equal(true);
  });

  it('copies itself with a resource', () => {
    const e = new S3Error('InvalidRange', undefined, { fields: { ActualObjectSize: '3' }, headers: { 'Content-Range': 'bytes */3' } });
    const withResource = e.withResource('/b/k');
    expect(withResource.resource).to.equal('/b/k');
    expect(withResource.fields).to.deep.equal({ ActualObjectSize: '3' });
    expect(withResource.headers).to.deep.equal({ 'Content-Range': 'bytes */3' });
  });
});
