import { expect } from 'chai';
import { escapeXmlText } from '../../../../src/protocol/s3/encoding.js';
import {
  ALL_USERS_GROUP, buildAccessControlPolicy, buildCompleteMultipartUploadResult, buildCopyObjectResult, buildCopyPartResult,
  buildDeleteResult, buildGetObjectAttributesResult, buildInitiateMultipartUploadResult, buildListAllMyBucketsResult, buildListMultipartUploadsResult,
  buildListObjectsResult, buildListObjectsV2Result, buildListPartsResult, buildListVersionsResult, buildLocationConstraint,
  buildVersioningConfiguration, parseAccessControlPolicy, parseCompleteMultipartUpload, parseCreateBucketConfiguration,
  parseDeleteRequest, type ParseResult,
} from '../../../../src/protocol/s3/xml.js';

const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';
const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const OWNER = { id: '75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a', displayName: 'mtd@amazon.com' };
const T = Date.UTC(2009, 9, 12, 17, 50, 30);

function code<T>(result: ParseResult<T>): string {
  return result.ok ? 'ok' : result.error.code;
}

function value<T>(result: ParseResult<T>): T {
  if (!result.ok) throw new Error(`unexpected ${result.error.code}`);
  return result.value;
}

describe('protocol/s3/xml', () => {
  describe('response documents', () => {
    it('ListAllMyBucketsResult', () => {
      expect(buildListAllMyBucketsResult({ owner: OWNER, buckets: [{ name: 'quotes', creationDate: T }, { name: 'samples', creationDate: new Date(T + 1) }] })).to.equal(
        `${DECL}<ListAllMyBucketsResult ${NS}><Owner><ID>${OWNER.id}</ID><DisplayName>mtd@amazon.com</DisplayName></Owner>` +
          '<Buckets><Bucket><Name>quotes</Name><CreationDate>2009-10-12T17:50:30.000Z</CreationDate></Bucket>' +
          '<Bucket><Name>samples</Name><CreationDate>2009-10-12T17:50:30.001Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>',
      );
    });

    it('LocationConstraint and VersioningConfiguration', () => {
      expect(buildLocationConstraint(undefined)).to.equal(`${DECL}<LocationConstraint ${NS}></LocationConstraint>`);
      expect(buildLocationConstraint('us-east-1')).to.equal(`${DECL}<LocationConstraint ${NS}></LocationConstraint>`);
      expect(buildLocationConstraint('EU')).to.equal(`${DECL}<LocationConstraint ${NS}>EU</LocationConstraint>`);
      expect(buildVersioningConfiguration(undefined)).to.equal(`${DECL}<VersioningConfiguration ${NS}></VersioningConfiguration>`);
      expect(buildVersioningConfiguration('Enabled')).to.equal(`${DECL}<VersioningConfiguration ${NS}><Status>Enabled</Status></VersioningConfiguration>`);
    });

    it('ListBucketResult version 1', () => {
      const xml = buildListObjectsResult({
        bucket: 'bucket', prefix: '', marker: undefined, delimiter: '/', maxKeys: 1000, isTruncated: true, nextMarker: 'my-image.jpg',
        encodingType: undefined, commonPrefixes: ['photos/'],
        contents: [{ key: 'my-image.jpg', lastModified: T, etag: 'fba9dede5f27731c9771645a39863328', size: 434234, owner: OWNER }],
      }).toString();
      expect(xml).to.equal(
        `${DECL}<ListBucketResult ${NS}><Name>bucket</Name><Prefix></Prefix><Marker></Marker><MaxKeys>1000</MaxKeys>` +
          '<Delimiter>/</Delimiter><IsTruncated>true</IsTruncated><NextMarker>my-image.jpg</NextMarker>' +
          '<Contents><Key>my-image.jpg</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>' +
          '<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>' +
          `<Owner><ID>${OWNER.id}</ID><DisplayName>mtd@amazon.com</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>` +
          '<CommonPrefixes><Prefix>photos/</Prefix></CommonPrefixes></ListBucketResult>',
      );
    });

    it('applies encoding-type=url to keys, prefixes, delimiters and markers as S3 does', () => {
      const xml = buildListObjectsResult({
        bucket: 'bucket', prefix: 'a b/', marker: 'm+1', delimiter: '/', maxKeys: 2, isTruncated: true, nextMarker: 'a b/ü~*',
        encodingType: 'url', commonPrefixes: ['a b/c&d/'],
        contents: [{ key: 'a b/ü~*\r', lastModified: T, etag: '"e"', size: 1 }],
      }).toString();
      expect(xml).to.contain('<Prefix>a+b/</Prefix><Marker>m%2B1</Marker>');
      expect(xml).to.contain('<Delimiter>/</Delimiter>');
      expect(xml).to.contain('<EncodingType>url</EncodingType><NextMarker>a+b/%C3%BC%7E*</NextMarker>');
      expect(xml).to.contain('<Key>a+b/%C3%BC%7E*%0D</Key>');
      expect(xml).to.contain('<CommonPrefixes><Prefix>a+b/c%26d/</Prefix></CommonPrefixes>');
      expect(xml).to.contain('<ETag>&quot;e&quot;</ETag>');
    });

    it('ListBucketResult version 2, with owners only when fetched', () => {
      const input = {
        bucket: 'bucket', prefix: 'p', delimiter: undefined, maxKeys: 3, isTruncated: true, continuationToken: 'c1',
        nextContinuationToken: 'c2', startAfter: 'a&b', encodingType: undefined, fetchOwner: false, commonPrefixes: ['p/x/'],
        contents: [{ key: 'p1', lastModified: T, etag: 'e1', size: 0, owner: OWNER, checksumAlgorithm: 'CRC32' as const }],
      };
      expect(buildListObjectsV2Result(input).toString()).to.equal(
        `${DECL}<ListBucketResult ${NS}><Name>bucket</Name><Prefix>p</Prefix><ContinuationToken>c1</ContinuationToken>` +
          '<NextContinuationToken>c2</NextContinuationToken><KeyCount>2</KeyCount><MaxKeys>3</MaxKeys><IsTruncated>true</IsTruncated>' +
          '<StartAfter>a&amp;b</StartAfter><Contents><Key>p1</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>' +
          '<ETag>&quot;e1&quot;</ETag><ChecksumAlgorithm>CRC32</ChecksumAlgorithm><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents>' +
          '<CommonPrefixes><Prefix>p/x/</Prefix></CommonPrefixes></ListBucketResult>',
      );
      expect(buildListObjectsV2Result({ ...input, fetchOwner: true }).toString()).to.contain(`<Owner><ID>${OWNER.id}</ID>`);
    });

    it('a listing of thousands of keys, in pieces that together are the whole document', () => {
      const keys = Array.from({ length: 3000 }, (_, i) => `dir/ü-${i}-😀-<&>`);
      const xml = buildListObjectsV2Result({
        bucket: 'bucket', prefix: '', delimiter: undefined, maxKeys: 3000, isTruncated: false, continuationToken: undefined,
        nextContinuationToken: undefined, startAfter: undefined, encodingType: undefined, fetchOwner: false, commonPrefixes: [],
        contents: keys.map((key) => ({ key, lastModified: T, etag: 'e', size: 1 })),
      });
      expect(xml.chunks.length).to.be.above(1);
      const text = xml.toString();
      expect(Buffer.byteLength(text)).to.equal(xml.byteLength);
      expect([...text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((match) => match[1])).to.deep.equal(keys.map((key) => key.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')));
      expect(text.endsWith('</Contents></ListBucketResult>')).to.equal(true);
    });

    it('ListVersionsResult with null version ids and delete markers', () => {
      const xml = buildListVersionsResult({
        bucket: 'bucket', prefix: '', keyMarker: undefined, versionIdMarker: undefined, nextKeyMarker: undefined,
        nextVersionIdMarker: undefined, delimiter: undefined, maxKeys: 1000, isTruncated: false, encodingType: undefined,
        commonPrefixes: [],
        entries: [
          { kind: 'delete-marker', key: 'gone', versionId: 'null', isLatest: true, lastModified: T, owner: OWNER },
          { kind: 'version', key: 'here', versionId: 'null', isLatest: true, lastModified: T, etag: 'abc', size: 3 },
        ],
      }).toString();
      expect(xml).to.equal(
        `${DECL}<ListVersionsResult ${NS}><Name>bucket</Name><Prefix></Prefix><KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker>` +
          '<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>' +
          `<DeleteMarker><Owner><ID>${OWNER.id}</ID><DisplayName>mtd@amazon.com</DisplayName></Owner><Key>gone</Key><VersionId>null</VersionId>` +
          '<IsLatest>true</IsLatest><LastModified>2009-10-12T17:50:30.000Z</LastModified></DeleteMarker>' +
          '<Version><Key>here</Key><VersionId>null</VersionId><IsLatest>true</IsLatest><LastModified>2009-10-12T17:50:30.000Z</LastModified>' +
          '<ETag>&quot;abc&quot;</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Version></ListVersionsResult>',
      );
    });

    it('the multipart documents', () => {
      expect(buildInitiateMultipartUploadResult({ bucket: 'example-bucket', key: 'example-object', uploadId: 'VXBsb2FkIElE' })).to.equal(
        `${DECL}<InitiateMultipartUploadResult ${NS}><Bucket>example-bucket</Bucket><Key>example-object</Key>` +
          '<UploadId>VXBsb2FkIElE</UploadId></InitiateMultipartUploadResult>',
      );
      expect(buildCompleteMultipartUploadResult({
        location: 'http://Example-Bucket.s3.example.com/Example-Object', bucket: 'Example-Bucket', key: 'Example-Object',
        etag: '3858f62230ac3c915f300c664312c11f-9', checksums: { CRC32: 'AAAAAA==' }, checksumType: 'COMPOSITE',
      })).to.equal(
        `${DECL}<CompleteMultipartUploadResult ${NS}><Location>http://Example-Bucket.s3.example.com/Example-Object</Location>` +
          '<Bucket>Example-Bucket</Bucket><Key>Example-Object</Key><ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag>' +
          '<ChecksumCRC32>AAAAAA==</ChecksumCRC32><ChecksumType>COMPOSITE</ChecksumType></CompleteMultipartUploadResult>',
      );
      const parts = buildListPartsResult({
        bucket: 'b', key: 'k', uploadId: 'u', partNumberMarker: 1, nextPartNumberMarker: 3, maxParts: 2, isTruncated: true,
        parts: [{ partNumber: 2, lastModified: T, etag: '7778aef83f66abc1fa1e8477f296d394', size: 10485760 }],
        initiator: OWNER, owner: OWNER,
      });
      expect(parts).to.contain('<PartNumberMarker>1</PartNumberMarker><NextPartNumberMarker>3</NextPartNumberMarker><MaxParts>2</MaxParts><IsTruncated>true</IsTruncated>');
      expect(parts).to.contain('<Part><PartNumber>2</PartNumber><LastModified>2009-10-12T17:50:30.000Z</LastModified><ETag>&quot;7778aef83f66abc1fa1e8477f296d394&quot;</ETag><Size>10485760</Size></Part>');
      expect(parts).to.contain(`<Initiator><ID>${OWNER.id}</ID>`);
      const uploads = buildListMultipartUploadsResult({
        bucket: 'b', keyMarker: undefined, uploadIdMarker: undefined, nextKeyMarker: 'my movie.m2ts', nextUploadIdMarker: 'u2',
        delimiter: '/', prefix: '', maxUploads: 3, isTruncated: true, encodingType: 'url', commonPrefixes: ['photos/'],
        uploads: [{ key: 'my movie.m2ts', uploadId: 'u2', initiator: OWNER, owner: OWNER, initiated: T }],
      });
      expect(uploads).to.contain('<KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><NextKeyMarker>my+movie.m2ts</NextKeyMarker>');
      expect(uploads).to.contain('<Upload><Key>my+movie.m2ts</Key><UploadId>u2</UploadId>');
      expect(uploads).to.contain('<Initiated>2009-10-12T17:50:30.000Z</Initiated></Upload><CommonPrefixes><Prefix>photos/</Prefix></CommonPrefixes>');
    });

    it('CopyObjectResult and CopyPartResult', () => {
      expect(buildCopyObjectResult({ etag: '9b2cf535f27731c974343645a3985328', lastModified: T })).to.equal(
        `${DECL}<CopyObjectResult ${NS}><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>` +
          '<LastModified>2009-10-12T17:50:30.000Z</LastModified></CopyObjectResult>',
      );
      expect(buildCopyPartResult({ etag: '"b"', lastModified: T })).to.equal(
        `${DECL}<CopyPartResult ${NS}><ETag>&quot;b&quot;</ETag><LastModified>2009-10-12T17:50:30.000Z</LastModified></CopyPartResult>`,
      );
    });

    it('GetObjectAttributes, with only the attributes given and the ETag unquoted', () => {
      expect(buildGetObjectAttributesResult({ etag: '"9b2cf535f27731c974343645a3985328"', objectSize: 3 })).to.equal(
        `${DECL}<GetObjectAttributesOutput ${NS}><ETag>9b2cf535f27731c974343645a3985328</ETag><ObjectSize>3</ObjectSize></GetObjectAttributesOutput>`,
      );
      expect(buildGetObjectAttributesResult({
        checksum: { values: { CRC32: 'AAAAAA==-2' }, type: 'COMPOSITE' },
        objectParts: {
          totalPartsCount: 2, partNumberMarker: 0, nextPartNumberMarker: 1, maxParts: 1, isTruncated: true, parts: [{ partNumber: 1, size: 5 }],
        },
        storageClass: 'STANDARD',
      })).to.equal(
        `${DECL}<GetObjectAttributesOutput ${NS}><Checksum><ChecksumCRC32>AAAAAA==-2</ChecksumCRC32><ChecksumType>COMPOSITE</ChecksumType></Checksum>` +
          '<ObjectParts><PartsCount>2</PartsCount><PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>1</NextPartNumberMarker>' +
          '<MaxParts>1</MaxParts><IsTruncated>true</IsTruncated><Part><PartNumber>1</PartNumber><Size>5</Size></Part></ObjectParts>' +
          '<StorageClass>STANDARD</StorageClass></GetObjectAttributesOutput>',
      );
    });

    it('DeleteResult, listing only failures in quiet mode', () => {
      const input = {
        deleted: [{ key: 'sample1.txt' }, { key: 'v.txt', versionId: 'null', deleteMarker: true, deleteMarkerVersionId: 'null' }],
        errors: [{ key: 'sample2.txt', code: 'AccessDenied', message: 'Access Denied' }],
      };
      expect(buildDeleteResult({ quiet: false, ...input })).to.equal(
        `${DECL}<DeleteResult ${NS}><Deleted><Key>sample1.txt</Key></Deleted>` +
          '<Deleted><Key>v.txt</Key><VersionId>null</VersionId><DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>null</DeleteMarkerVersionId></Deleted>' +
          '<Error><Key>sample2.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>',
      );
      expect(buildDeleteResult({ quiet: true, ...input })).to.equal(
        `${DECL}<DeleteResult ${NS}><Error><Key>sample2.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>`,
      );
    });

    it('AccessControlPolicy', () => {
      expect(buildAccessControlPolicy({
        owner: OWNER,
        grants: [
          { grantee: { type: 'CanonicalUser', id: OWNER.id, displayName: OWNER.displayName }, permission: 'FULL_CONTROL' },
          { grantee: { type: 'Group', uri: ALL_USERS_GROUP }, permission: 'READ' },
        ],
      })).to.equal(
        `${DECL}<AccessControlPolicy ${NS}><Owner><ID>${OWNER.id}</ID><DisplayName>mtd@amazon.com</DisplayName></Owner><AccessControlList>` +
          '<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">' +
          `<ID>${OWNER.id}</ID><DisplayName>mtd@amazon.com</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant>` +
          '<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">' +
          '<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>' +
          '</AccessControlList></AccessControlPolicy>',
      );
    });

    it('escapes awkward keys', () => {
      const xml = buildDeleteResult({ quiet: false, deleted: [{ key: 'a&b<c>"d\'e\r\u0001\tf' }], errors: [] });
      expect(xml).to.contain('<Key>a&amp;b&lt;c&gt;&quot;d&apos;e&#xD;&#x1;\tf</Key>');
    });
  });

  describe('request bodies', () => {
    it('CreateBucketConfiguration, including none at all', () => {
      expect(value(parseCreateBucketConfiguration(''))).to.deep.equal({ locationConstraint: undefined });
      expect(value(parseCreateBucketConfiguration(Buffer.from('  \n')))).to.deep.equal({ locationConstraint: undefined });
      expect(value(parseCreateBucketConfiguration(
        `<CreateBucketConfiguration ${NS}><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`,
      ))).to.deep.equal({ locationConstraint: 'eu-west-1' });
      expect(value(parseCreateBucketConfiguration('<CreateBucketConfiguration/>'))).to.deep.equal({ locationConstraint: undefined });
      expect(code(parseCreateBucketConfiguration('<Configuration><LocationConstraint>x</LocationConstraint></Configuration>'))).to.equal('MalformedXML');
      expect(code(parseCreateBucketConfiguration('<CreateBucketConfiguration><LocationConstraint>x</CreateBucketConfiguration>'))).to.equal('MalformedXML');
      expect(code(parseCreateBucketConfiguration('<CreateBucketConfiguration><Bogus/></CreateBucketConfiguration>'))).to.equal('MalformedXML');
    });

    it('Delete, with keys exactly as sent', () => {
      const keys = ['sample1.txt', ' spaced ', 'a&b<c>"d\'e', 'cr\rlf\n', 'ctl\u0001', '€/😀', '0001'];
      const body = `${DECL}<Delete ${NS}><Quiet>true</Quiet>` +
        keys.map((k, i) => `<Object><Key>${escapeXmlText(k)}</Key>${i === 0 ? '<VersionId>null</VersionId>' : ''}</Object>`).join('') + '</Delete>';
      const parsed = value(parseDeleteRequest(Buffer.from(body)));
      expect(parsed.quiet).to.equal(true);
      expect(parsed.objects.map((o) => o.key)).to.deep.equal(keys);
      expect(parsed.objects[0]!.versionId).to.equal('null');
      expect(parsed.objects[1]!.versionId).to.equal(undefined);
      expect(value(parseDeleteRequest('<Delete><Object><Key><![CDATA[x<y&z]]></Key></Object></Delete>')).objects[0]!.key).to.equal('x<y&z');
      expect(value(parseDeleteRequest('<s3:Delete xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:Object><s3:Key>k</s3:Key></s3:Object></s3:Delete>')).objects)
        .to.deep.equal([{ key: 'k', versionId: undefined }]);
      expect(value(parseDeleteRequest('<Delete><Object><Key>k</Key></Object></Delete>')).quiet).to.equal(false);
      expect(value(parseDeleteRequest('<Delete><Object><Key>&#x20AC;&#65;</Key></Object></Delete>')).objects[0]!.key).to.equal('€A');
    });

    it('Delete refuses what is not a well-formed list of 1 to 1000 keys', () => {
      const many = (n: number): string => `<Delete>${'<Object><Key>k</Key></Object>'.repeat(n)}</Delete>`;
      expect(value(parseDeleteRequest(many(1000))).objects).to.have.length(1000);
      const malformed = [
        many(1001), many(0), '<Delete><Object></Object></Delete>', '<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>',
        '<Delete><Quiet>yes</Quiet><Object><Key>k</Key></Object></Delete>', '<Delete><Object><Key>k</Key><Extra/></Object></Delete>',
        '<Remove><Object><Key>k</Key></Object></Remove>', '<Delete><Object><Key>k</Key></Object></Delete><Delete/>', '', 'not xml',
        '<Delete><Object><Key>a &nbsp; b</Key></Object></Delete>', '<Delete><Object><Key>a & b</Key></Object></Delete>',
        '<Delete><Object><Key>&#0;</Key></Object></Delete>',
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "xxxxxxxx">]><Delete><Object><Key>&x;</Key></Object></Delete>',
        '<Delete><Object><Key>k</Key></Object><__proto__><polluted>1</polluted></__proto__></Delete>',
        '<Delete><Object><Key>t<![CDATA[x]]>u</Key></Object></Delete>', '<Delete>text<Object><Key>k</Key></Object></Delete>',
      ];
      for (const body of malformed) expect(code(parseDeleteRequest(body)), body.slice(0, 80)).to.equal('MalformedXML');
      expect(code(parseDeleteRequest(Buffer.from([0x3c, 0x44, 0xff, 0x3e])))).to.equal('MalformedXML');
      expect(code(parseDeleteRequest(`<Delete><Object><Key>${'k'.repeat(3 * 1024 * 1024)}</Key></Object></Delete>`))).to.equal('MalformedXML');
      expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
    });

    it('CompleteMultipartUpload, parts ascending with ETags unquoted', () => {
      const body = `<CompleteMultipartUpload ${NS}>` +
        '<Part><PartNumber>1</PartNumber><ETag>"a54357aff0632cce46d942af68356b38"</ETag></Part>' +
        '<Part><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag><PartNumber>2</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>' +
        '<Part><PartNumber>10000</PartNumber><ETag>acbd18db4cc2f85cedef654fccc4a4d8</ETag></Part></CompleteMultipartUpload>';
      expect(value(parseCompleteMultipartUpload(body))).to.deep.equal({
        parts: [
          { partNumber: 1, etag: 'a54357aff0632cce46d942af68356b38', checksums: {} },
          { partNumber: 2, etag: '0c78aef83f66abc1fa1e8477f296d394', checksums: { CRC32: 'AAAAAA==' } },
          { partNumber: 10000, etag: 'acbd18db4cc2f85cedef654fccc4a4d8', checksums: {} },
        ],
      });
    });

    it('CompleteMultipartUpload refusals', () => {
      const part = (n: string, etag = '"e"'): string => `<Part><PartNumber>${n}</PartNumber><ETag>${etag}</ETag></Part>`;
      const doc = (...parts: string[]): string => `<CompleteMultipartUpload>${parts.join('')}</CompleteMultipartUpload>`;
      expect(code(parseCompleteMultipartUpload(doc(part('2'), part('1'))))).to.equal('InvalidPartOrder');
      expect(code(parseCompleteMultipartUpload(doc(part('1'), part('1'))))).to.equal('InvalidPartOrder');
      expect(code(parseCompleteMultipartUpload(doc(part('0'))))).to.equal('InvalidArgument');
      expect(code(parseCompleteMultipartUpload(doc(part('10001'))))).to.equal('InvalidArgument');
      expect(code(parseCompleteMultipartUpload(doc(part('x'))))).to.equal('MalformedXML');
      expect(code(parseCompleteMultipartUpload(doc('<Part><PartNumber>1</PartNumber></Part>')))).to.equal('MalformedXML');
      expect(code(parseCompleteMultipartUpload(doc()))).to.equal('MalformedXML');
      expect(code(parseCompleteMultipartUpload('<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part>'))).to.equal('MalformedXML');
      expect(code(parseCompleteMultipartUpload('<Complete>' + part('1') + '</Complete>'))).to.equal('MalformedXML');
    });

    it('AccessControlPolicy', () => {
      const body = buildAccessControlPolicy({
        owner: OWNER,
        grants: [
          { grantee: { type: 'CanonicalUser', id: 'abc', displayName: 'me' }, permission: 'FULL_CONTROL' },
          { grantee: { type: 'Group', uri: ALL_USERS_GROUP }, permission: 'READ' },
        ],
      });
      expect(value(parseAccessControlPolicy(body))).to.deep.equal({
        owner: OWNER,
        grants: [
          { grantee: { type: 'CanonicalUser', id: 'abc', displayName: 'me' }, permission: 'FULL_CONTROL' },
          { grantee: { type: 'Group', uri: ALL_USERS_GROUP }, permission: 'READ' },
        ],
      });
      expect(code(parseAccessControlPolicy('<AccessControlPolicy><AccessControlList/></AccessControlPolicy>'))).to.equal('MalformedACLError');
      expect(code(parseAccessControlPolicy(body.replace('>READ<', '>READ_ALL<')))).to.equal('MalformedACLError');
      expect(code(parseAccessControlPolicy(body.replace('<URI>', '<EmailAddress>a@b.c</EmailAddress><URI>')))).to.equal('UnresolvableGrantByEmailAddress');
    });
  });
});
