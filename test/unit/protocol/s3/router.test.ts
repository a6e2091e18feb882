import { expect } from 'chai';
import type { S3Error } from '../../../../src/protocol/s3/errors.js';
import { parseQueryString } from '../../../../src/protocol/s3/headers.js';
import {
  bucketFromHost, isValidBucketName, parseCopySource, routeS3Request, type RouteResult, type S3Operation,
} from '../../../../src/protocol/s3/router.js';

const OPTIONS = { virtualHostSuffixes: ['s3.example.com', 's3.example.com:8080'] };

function route(
  method: string,
  pathAndQuery: string,
  headers: Record<string, string> = {},
  host = 's3.example.com',
): RouteResult {
  const q = pathAndQuery.indexOf('?');
  const path = q === -1 ? pathAndQuery : pathAndQuery.slice(0, q);
  const query = parseQueryString(q === -1 ? '' : pathAndQuery.slice(q + 1));
  if (query === undefined) throw new Error('bad query in test');
  return routeS3Request({ method, path, query, headers: { host, ...headers }, host }, OPTIONS);
}

function op(method: string, pathAndQuery: string, headers: Record<string, string> = {}, host?: string): S3Operation {
  const result = route(method, pathAndQuery, headers, host);
  if (!result.ok) throw new Error(`expected an operation, got ${result.error.code}: ${result.error.message}`);
  return result.operation;
}

function err(method: string, pathAndQuery: string, headers: Record<string, string> = {}, host?: string): S3Error {
  const result = route(method, pathAndQuery, headers, host);
  if (result.ok) throw new Error(`expected an error, got ${result.operation.type}`);
  return result.error;
}

describe('protocol/s3/router', () => {
  describe('service and bucket operations', () => {
    it('routes the service root', () => {
      expect(op('GET', '/')).to.deep.equal({ type: 'ListBuckets', prefix: undefined, continuationToken: undefined, maxBuckets: 10000 });
      expect(err('PUT', '/').code).to.equal('MethodNotAllowed');
      expect(err('DELETE', '/').fields).to.deep.include({ Method: 'DELETE', ResourceType: 'SERVICE' });
      expect(err('GET', '/?max-buckets=0').code).to.equal('InvalidArgument');
    });

    it('routes bucket operations by method and sub-resource', () => {
      expect(op('PUT', '/bucket')).to.deep.equal({ type: 'CreateBucket', bucket: 'bucket' });
      expect(op('PUT', '/bucket/')).to.deep.equal({ type: 'CreateBucket', bucket: 'bucket' });
      expect(op('DELETE', '/bucket')).to.deep.equal({ type: 'DeleteBucket', bucket: 'bucket' });
      expect(op('HEAD', '/bucket')).to.deep.equal({ type: 'HeadBucket', bucket: 'bucket' });
      expect(op('GET', '/bucket?location')).to.deep.equal({ type: 'GetBucketLocation', bucket: 'bucket' });
      expect(op('GET', '/bucket?versioning')).to.deep.equal({ type: 'GetBucketVersioning', bucket: 'bucket' });
      expect(op('GET', '/bucket?acl')).to.deep.equal({ type: 'GetBucketAcl', bucket: 'bucket' });
      expect(op('PUT', '/bucket?acl')).to.deep.equal({ type: 'PutBucketAcl', bucket: 'bucket' });
      expect(op('POST', '/bucket?delete')).to.deep.equal({ type: 'DeleteObjects', bucket: 'bucket' });
      expect(op('POST', '/bucket/?delete=')).to.deep.equal({ type: 'DeleteObjects', bucket: 'bucket' });
    });

    it('parses list parameters', () => {
      expect(op('GET', '/bucket')).to.deep.equal({
        type: 'ListObjects', bucket: 'bucket', prefix: '', delimiter: undefined, marker: undefined, maxKeys: 1000, encodingType: undefined,
      });
      expect(op('GET', '/bucket?prefix=a%20b&delimiter=%2F&marker=m&max-keys=5&encoding-type=url')).to.deep.equal({
        type: 'ListObjects', bucket: 'bucket', prefix: 'a b', delimiter: '/', marker: 'm', maxKeys: 5, encodingType: 'url',
      });
      expect(op('GET', '/bucket?list-type=2&continuation-token=tok&start-after=s&fetch-owner=true&max-keys=2000&x-id=ListObjectsV2')).to.deep.equal({
        type: 'ListObjectsV2', bucket: 'bucket', prefix: '', delimiter: undefined, continuationToken: 'tok', startAfter: 's',
        maxKeys: 1000, encodingType: undefined, fetchOwner: true,
      });
      expect(op('GET', '/bucket?versions&key-marker=k&version-id-marker=null&max-keys=0')).to.deep.equal({
        type: 'ListObjectVersions', bucket: 'bucket', prefix: '', delimiter: undefined, encodingType: undefined,
        keyMarker: 'k', versionIdMarker: 'null', maxKeys: 0,
      });
      expect(op('GET', '/bucket?uploads&key-marker=k&upload-id-marker=u&max-uploads=7&prefix=p')).to.deep.equal({
        type: 'ListMultipartUploads', bucket: 'bucket', prefix: 'p', delimiter: undefined, encodingType: undefined,
        keyMarker: 'k', uploadIdMarker: 'u', maxUploads: 7,
      });
    });

    it('refuses bad list parameters', () => {
      for (const bad of ['-1', '1.5', 'abc', '', ' 3x']) {
        const e = err('GET', `/bucket?max-keys=${encodeURIComponent(bad)}`);
        expect(e.code, bad).to.equal('InvalidArgument');
        expect(e.fields['ArgumentName']).to.equal('max-keys');
      }
      expect(err('GET', '/bucket?list-type=3').code).to.equal('InvalidArgument');
      expect(err('GET', '/bucket?encoding-type=base64').code).to.equal('InvalidArgument');
      expect(op('GET', '/bucket?list-type=2&continuation-token=')).to.include({ type: 'ListObjectsV2', continuationToken: '' });
      expect(err('GET', '/bucket?versions&version-id-marker=v').code).to.equal('InvalidArgument');
      expect(op('GET', '/bucket?max-keys=99999999999999999999')).to.include({ maxKeys: 1000 });
    });

    it('answers unknown sub-resources with NotImplemented and wrong methods with MethodNotAllowed', () => {
      for (const sub of ['website', 'accelerate', 'inventory', 'notification', 'logging', 'replication', 'metrics']) {
        expect(err('GET', `/bucket?${sub}`).code, sub).to.equal('NotImplemented');
        expect(err('PUT', `/bucket?${sub}`).code, sub).to.equal('NotImplemented');
        expect(err('DELETE', `/bucket?${sub}`).code, sub).to.equal('NotImplemented');
      }
      expect(op('PUT', '/bucket?versioning')).to.deep.equal({ type: 'PutBucketVersioning', bucket: 'bucket' });
      expect(op('GET', '/bucket?tagging')).to.deep.equal({ type: 'GetBucketTagging', bucket: 'bucket' });
      expect(op('PUT', '/bucket?tagging')).to.deep.equal({ type: 'PutBucketTagging', bucket: 'bucket' });
      expect(op('DELETE', '/bucket?tagging')).to.deep.equal({ type: 'DeleteBucketTagging', bucket: 'bucket' });
      expect(op('GET', `/bucket/k?tagging&versionId=${'a'.repeat(32)}`)).to.deep.equal({ type: 'GetObjectTagging', bucket: 'bucket', key: 'k', versionId: 'a'.repeat(32) });
      expect(op('PUT', '/bucket/k?tagging')).to.deep.equal({ type: 'PutObjectTagging', bucket: 'bucket', key: 'k', versionId: undefined });
      expect(op('DELETE', '/bucket/k?tagging')).to.deep.equal({ type: 'DeleteObjectTagging', bucket: 'bucket', key: 'k', versionId: undefined });
      expect(err('POST', '/bucket/k?tagging').code).to.equal('MethodNotAllowed');
      expect(op('GET', '/bucket?object-lock')).to.deep.equal({ type: 'GetObjectLockConfiguration', bucket: 'bucket' });
      expect(op('PUT', '/bucket?object-lock')).to.deep.equal({ type: 'PutObjectLockConfiguration', bucket: 'bucket' });
      expect(op('GET', '/bucket/k?retention')).to.deep.equal({ type: 'GetObjectRetention', bucket: 'bucket', key: 'k', versionId: undefined });
      expect(op('PUT', '/bucket/k?retention&versionId=null')).to.deep.equal({ type: 'PutObjectRetention', bucket: 'bucket', key: 'k', versionId: 'null' });
      expect(op('GET', '/bucket/k?legal-hold')).to.deep.equal({ type: 'GetObjectLegalHold', bucket: 'bucket', key: 'k', versionId: undefined });
      expect(op('PUT', '/bucket/k?legal-hold')).to.deep.equal({ type: 'PutObjectLegalHold', bucket: 'bucket', key: 'k', versionId: undefined });
      expect(err('DELETE', '/bucket/k?retention').code).to.equal('MethodNotAllowed');
      expect(err('DELETE', '/bucket?object-lock').code).to.equal('MethodNotAllowed');
      expect(op('POST', '/bucket')).to.deep.equal({ type: 'PostObject', bucket: 'bucket' });
      const e = err('PUT', '/bucket?location');
      expect(e.code).to.equal('MethodNotAllowed');
      expect(e.status).to.equal(405);
      expect(e.fields).to.deep.equal({ Method: 'PUT', ResourceType: 'BUCKET' });
      expect(err('DELETE', '/bucket?acl').code).to.equal('MethodNotAllowed');
      expect(err('GET', '/bucket?delete').code).to.equal('MethodNotAllowed');
      expect(err('PATCH', '/bucket').code).to.equal('MethodNotAllowed');
    });
  });

  describe('object operations', () => {
    it('routes every object operation', () => {
      const none = { versionId: undefined, partNumber: undefined, overrides: {} };
      expect(op('GET', '/bucket/key')).to.deep.equal({ type: 'GetObject', bucket: 'bucket', key: 'key', ...none });
      expect(op('HEAD', '/bucket/key')).to.deep.equal({ type: 'HeadObject', bucket: 'bucket', key: 'key', ...none });
      expect(op('PUT', '/bucket/key')).to.deep.equal({ type: 'PutObject', bucket: 'bucket', key: 'key' });
      expect(op('DELETE', '/bucket/key')).to.deep.equal({ type: 'DeleteObject', bucket: 'bucket', key: 'key', versionId: undefined });
      expect(op('POST', '/bucket/key?uploads')).to.deep.equal({ type: 'CreateMultipartUpload', bucket: 'bucket', key: 'key' });
      expect(op('PUT', '/bucket/key?partNumber=3&uploadId=u1')).to.deep.equal({
        type: 'UploadPart', bucket: 'bucket', key: 'key', uploadId: 'u1', partNumber: 3,
      });
      expect(op('PUT', '/bucket/key?partNumber=4&uploadId=u1', { 'x-amz-copy-source': '/src/a%20b' })).to.deep.equal({
        type: 'UploadPartCopy', bucket: 'bucket', key: 'key', uploadId: 'u1', partNumber: 4,
        source: { bucket: 'src', key: 'a b', versionId: undefined },
      });
      expect(op('POST', '/bucket/key?uploadId=u1')).to.deep.equal({ type: 'CompleteMultipartUpload', bucket: 'bucket', key: 'key', uploadId: 'u1' });
      expect(op('DELETE', '/bucket/key?uploadId=u1')).to.deep.equal({ type: 'AbortMultipartUpload', bucket: 'bucket', key: 'key', uploadId: 'u1' });
      expect(op('GET', '/bucket/key?uploadId=u1&max-parts=10&part-number-marker=2')).to.deep.equal({
        type: 'ListParts', bucket: 'bucket', key: 'key', uploadId: 'u1', maxParts: 10, partNumberMarker: 2,
      });
      expect(op('GET', '/bucket/key?acl')).to.deep.equal({ type: 'GetObjectAcl', bucket: 'bucket', key: 'key', versionId: undefined });
      expect(op('PUT', '/bucket/key?acl')).to.deep.equal({ type: 'PutObjectAcl', bucket: 'bucket', key: 'key', versionId: undefined });
    });

    it('routes a copy, with the source decoded and only the null version allowed', () => {
      expect(op('PUT', '/bucket/dst', { 'x-amz-copy-source': 'src/dir%2Ffile%3F.txt?versionId=null' })).to.deep.equal({
        type: 'CopyObject', bucket: 'bucket', key: 'dst', source: { bucket: 'src', key: 'dir/file?.txt', versionId: 'null' }, metadataDirective: 'COPY',
      });
      expect(op('PUT', '/bucket/dst', { 'x-amz-copy-source': '/src/%E2%82%AC', 'x-amz-metadata-directive': 'REPLACE' })).to.deep.include({
        metadataDirective: 'REPLACE', source: { bucket: 'src', key: '€', versionId: undefined },
      });
      expect(err('PUT', '/bucket/dst', { 'x-amz-copy-source': '/src/k?versionId=3HL4kqtJlcpXroDTDmJ' }).code).to.equal('InvalidArgument');
      expect(err('PUT', '/bucket/dst', { 'x-amz-copy-source': '/src' }).code).to.equal('InvalidArgument');
      expect(err('PUT', '/bucket/dst', { 'x-amz-copy-source': '/src/' }).code).to.equal('InvalidArgument');
      expect(err('PUT', '/bucket/dst', { 'x-amz-copy-source': '/Bad_Bucket/k' }).code).to.equal('InvalidBucketName');
      expect(err('PUT', '/bucket/dst', { 'x-amz-copy-source': '/src/%ZZ' }).code).to.equal('InvalidArgument');
      expect(err('PUT', '/bucket/dst', { 'x-amz-copy-source': '/src/k', 'x-amz-metadata-directive': 'MERGE' }).code).to.equal('InvalidArgument');
    });

    it('refuses copying an object onto itself without a change', () => {
      expect(err('PUT', '/bucket/k', { 'x-amz-copy-source': 'bucket/k' }).code).to.equal('InvalidRequest');
      expect(op('PUT', '/bucket/k', { 'x-amz-copy-source': 'bucket/k', 'x-amz-metadata-directive': 'REPLACE' }).type).to.equal('CopyObject');
      expect(op('PUT', '/bucket/k', { 'x-amz-copy-source': 'bucket/k', 'x-amz-storage-class': 'STANDARD' }).type).to.equal('CopyObject');
    });

    it('decodes keys from the raw path without normalising them', () => {
      expect(op('GET', '/bucket/a%20b/c%2Fd/%C3%BC+x')).to.include({ key: 'a b/c/d/ü+x' });
      expect(op('GET', '/bucket//double//slash//')).to.include({ key: '/double//slash//' });
      expect(op('GET', '/bucket/dir/')).to.include({ key: 'dir/' });
      expect(op('GET', '/bucket/../x/./y')).to.include({ key: '../x/./y' });
      expect(op('GET', '/bucket/%F0%9F%98%80')).to.include({ key: '😀' });
      expect(op('GET', '/bucket/a?b')).to.include({ key: 'a' });
      expect(err('GET', '/bucket/%E2%82').code).to.equal('InvalidURI');
      expect(err('GET', '/bucket/%zz').code).to.equal('InvalidURI');
    });

    it('limits keys to 1024 UTF-8 bytes', () => {
      expect(op('PUT', `/bucket/${'k'.repeat(1024)}`)).to.include({ type: 'PutObject' });
      const e = err('PUT', `/bucket/${'k'.repeat(1025)}`);
      expect(e.code).to.equal('KeyTooLongError');
      expect(e.fields).to.deep.equal({ Size: '1025', MaxSizeAllowed: '1024' });
      // 342 three-byte characters are 1026 bytes though only 342 UTF-16 units.
      expect(err('PUT', `/bucket/${encodeURIComponent('€'.repeat(342))}`).code).to.equal('KeyTooLongError');
      expect(op('PUT', `/bucket/${encodeURIComponent('€'.repeat(341))}`).type).to.equal('PutObject');
    });

    it('validates part numbers and version ids', () => {
      expect(op('PUT', '/bucket/k?partNumber=10000&uploadId=u')).to.include({ partNumber: 10000 });
      for (const bad of ['0', '10001', '-1', '1.0', 'x', '']) {
        const e = err('PUT', `/bucket/k?partNumber=${bad}&uploadId=u`);
        expect(e.code, bad).to.equal('InvalidArgument');
        expect(e.fields['ArgumentName']).to.equal('partNumber');
      }
      expect(err('PUT', '/bucket/k?partNumber=1').code).to.equal('InvalidRequest');
      expect(err('PUT', '/bucket/k?uploadId=u').code).to.equal('InvalidRequest');
      expect(op('GET', '/bucket/k?partNumber=2')).to.include({ partNumber: 2 });
      expect(err('GET', '/bucket/k?partNumber=2', { range: 'bytes=0-1' }).code).to.equal('InvalidRequest');
      expect(op('GET', '/bucket/k?versionId=null')).to.include({ versionId: 'null' });
      expect(err('GET', '/bucket/k?versionId=abc').code).to.equal('InvalidArgument');
      expect(err('DELETE', '/bucket/k?versionId=abc').code).to.equal('InvalidArgument');
    });

    it('routes GetObjectAttributes with its attribute list and part paging from headers', () => {
      expect(op('GET', '/bucket/k?attributes', {
        'x-amz-object-attributes': 'ETag, ObjectParts,ObjectSize', 'x-amz-max-parts': '2', 'x-amz-part-number-marker': '3',
      })).to.deep.equal({
        type: 'GetObjectAttributes', bucket: 'bucket', key: 'k', versionId: undefined,
        attributes: new Set(['ETag', 'ObjectParts', 'ObjectSize']), maxParts: 2, partNumberMarker: 3,
      });
      expect(op('GET', '/bucket/k?attributes', { 'x-amz-object-attributes': 'StorageClass' })).to.deep.include({ maxParts: 1000, partNumberMarker: undefined });
      expect(err('GET', '/bucket/k?attributes').code).to.equal('InvalidRequest');
      const unknown = err('GET', '/bucket/k?attributes', { 'x-amz-object-attributes': 'ETag,Owner' });
      expect([unknown.code, unknown.fields['ArgumentValue']]).to.deep.equal(['InvalidArgument', 'Owner']);
      expect(err('PUT', '/bucket/k?attributes').code).to.equal('MethodNotAllowed');
      expect(err('DELETE', '/bucket/k?attributes').code).to.equal('MethodNotAllowed');
    });

    it('passes response overrides of a GET through', () => {
      const o = op('GET', '/bucket/k?response-content-type=text%2Fplain&response-content-disposition=attachment%3B%20filename%3D%22a.txt%22&response-cache-control=no-cache');
      expect(o).to.deep.include({
        overrides: { contentType: 'text/plain', contentDisposition: 'attachment; filename="a.txt"', cacheControl: 'no-cache' },
      });
    });

    it('routes OPTIONS on a bucket or an object as a CORS preflight, whatever else the URL carries', () => {
      expect(op('OPTIONS', '/bucket', { origin: 'https://example.com', 'access-control-request-method': 'GET' })).to.deep.equal({
        type: 'PreflightRequest', bucket: 'bucket', key: undefined, origin: 'https://example.com', requestMethod: 'GET',
      });
      expect(op('OPTIONS', '/bucket/a/b?X-Amz-Signature=abc')).to.deep.equal({
        type: 'PreflightRequest', bucket: 'bucket', key: 'a/b', origin: undefined, requestMethod: undefined,
      });
    });

    it('answers unknown object sub-resources with NotImplemented', () => {
      for (const [method, sub] of [['GET', 'torrent'], ['POST', 'restore'], ['POST', 'select&select-type=2']] as const) {
        expect(err(method, `/bucket/k?${sub}`).code, `${method} ${sub}`).to.equal('NotImplemented');
      }
      expect(err('POST', '/bucket/k').code).to.equal('MethodNotAllowed');
      expect(err('GET', '/bucket/k?uploads').fields).to.deep.equal({ Method: 'GET', ResourceType: 'OBJECT' });
      expect(err('DELETE', '/bucket/k?acl').code).to.equal('MethodNotAllowed');
    });
  });

  describe('addressing', () => {
    it('takes the bucket from a virtual host under a configured suffix', () => {
      expect(op('GET', '/photos/cat.jpg', {}, 'my.bucket.s3.example.com')).to.include({ type: 'GetObject', bucket: 'my.bucket', key: 'photos/cat.jpg' });
      expect(op('GET', '/', {}, 'bucket.s3.example.com:8080')).to.include({ type: 'ListObjects', bucket: 'bucket' });
      expect(op('GET', '//lead', {}, 'bucket.S3.Example.com')).to.include({ bucket: 'bucket', key: '/lead' });
      expect(op('GET', '/bucket/key', {}, 's3.example.com')).to.include({ bucket: 'bucket', key: 'key' });
      const result = route('GET', '/k', {}, 'bucket.s3.example.com');
      expect(result.ok && result.addressing).to.deep.equal({ style: 'virtual-host', bucket: 'bucket', resource: '/bucket/k' });
      const path = route('GET', '/bkt/k', {}, '127.0.0.1:9000');
      expect(path.ok && path.addressing).to.deep.equal({ style: 'path', bucket: 'bkt', resource: '/bkt/k' });
    });

    it('takes the bucket from <bucket>.localhost with any port', () => {
      expect(op('PUT', '/k', {}, 'bucket.localhost:8080')).to.include({ type: 'PutObject', bucket: 'bucket', key: 'k' });
      expect(op('GET', '/bucket/k', {}, 'localhost:8080')).to.include({ bucket: 'bucket', key: 'k' });
      expect(bucketFromHost('[::1]:8080', ['s3.example.com'])).to.equal(undefined);
      expect(bucketFromHost(undefined, ['s3.example.com'])).to.equal(undefined);
      expect(bucketFromHost('other.org', ['s3.example.com'])).to.equal(undefined);
      expect(bucketFromHost('b.s3.example.com', ['example.com', 's3.example.com'])).to.equal('b');
    });

    it('validates the bucket from either style', () => {
      const e = err('GET', '/k', {}, 'Bad_Bucket.s3.example.com');
      expect(e.code).to.equal('InvalidBucketName');
      expect(e.fields).to.deep.equal({ BucketName: 'bad_bucket' });
      expect(err('GET', '/ab/k').code).to.equal('InvalidBucketName');
      expect(err('GET', '//k').code).to.equal('InvalidBucketName');
      expect(err('GET', '/bucket/%zz').resource).to.equal('/bucket/%zz');
      expect(err('DELETE', '/bucket/k?acl').resource).to.equal('/bucket/k');
    });
  });

  it('applies the S3 bucket naming rules', () => {
    for (const good of ['abc', 'my-bucket', 'my.bucket.name', 'a1b2c3', '123', 'a'.repeat(63), 'bucket-1.example']) {
      expect(isValidBucketName(good), good).to.equal(true);
    }
    for (const bad of ['ab', 'a'.repeat(64), 'Bucket', 'my_bucket', '-bucket', 'bucket-', '.bucket', 'bucket.',
      'my..bucket', 'my.-bucket', 'my-.bucket', '192.168.5.4', 'xn--bucket', 'bucket-s3alias', 'bucket--ol-s3', 'sthree-x', 'buck et', '']) {
      expect(isValidBucketName(bad), bad).to.equal(false);
    }
  });

  it('accepts the query as a plain record too', () => {
    const result = routeS3Request(
      { method: 'GET', path: '/bucket', query: { 'list-type': '2', 'max-keys': '10', 'x-id': 'ListObjectsV2' }, headers: {}, host: undefined },
      OPTIONS,
    );
    expect(result.ok && result.operation).to.deep.include({ type: 'ListObjectsV2', maxKeys: 10 });
    const inherited = routeS3Request({ method: 'GET', path: '/bucket', query: {}, headers: {}, host: undefined }, OPTIONS);
    expect(inherited.ok && inherited.operation.type).to.equal('ListObjects');
  });

  it('parses copy sources on their own', () => {
    expect(parseCopySource('/b-1/key%20with%20space')).to.deep.equal({ bucket: 'b-1', key: 'key with space', versionId: undefined });
    expect(() => parseCopySource('/b-1/k?partNumber=1')).to.throw();
  });
});
