import { expect } from 'chai';
import {
  actualHeaders, corsProblem, isCorsConfig, matchActual, matchPreflight, preflightHeaders, requestedHeaderNames, type CorsConfig, type CorsRule,
} from '../../../src/core/cors.js';
import { buildCorsConfiguration, parseCorsConfiguration, type ParseResult } from '../../../src/protocol/s3/xml.js';

const VARY = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method';
const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

function rule(fields: Partial<CorsRule>): CorsRule {
  return { allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: [], exposeHeaders: [], ...fields };
}

function config(...rules: CorsRule[]): CorsConfig {
  return { rules };
}

/** A PutBucketCors body with one CORSRule per argument. */
function document(...rules: string[]): string {
  return `<CORSConfiguration xmlns="${NS}">${rules.map((content) => `<CORSRule>${content}</CORSRule>`).join('')}</CORSConfiguration>`;
}

const MINIMAL = '<AllowedOrigin>https://example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>';

function refusal<T>(result: ParseResult<T>): { code: string; message: string } | undefined {
  return result.ok ? undefined : { code: result.error.code, message: result.error.message };
}

function originAllowed(pattern: string, origin: string): boolean {
  return matchActual(config(rule({ allowedOrigins: [pattern] })), { origin, method: 'GET' }) !== undefined;
}

function headersAllowed(allowedHeaders: string[], requestHeaders: string[]): boolean {
  return matchPreflight(config(rule({ allowedHeaders })), { origin: 'https://a.example', method: 'GET', requestHeaders }) !== undefined;
}

describe('core/cors', () => {
  describe('validation', () => {
    it('accepts what S3 accepts', () => {
      expect(corsProblem(config(rule({ id: 'x'.repeat(255), allowedOrigins: ['*', 'https://*.example.com'], allowedMethods: ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'], allowedHeaders: ['*', 'x-amz-*'], exposeHeaders: ['ETag'], maxAgeSeconds: 0 })))).to.equal(undefined);
      expect(corsProblem(config(...Array.from({ length: 100 }, () => rule({}))))).to.equal(undefined);
    });

    it('refuses an empty configuration, more than 100 rules, and rules missing an origin or a method', () => {
      expect(corsProblem(config())).to.match(/1 to 100 rules/);
      expect(corsProblem(config(...Array.from({ length: 101 }, () => rule({}))))).to.match(/1 to 100 rules/);
      expect(corsProblem(config(rule({ allowedOrigins: [] })))).to.match(/AllowedOrigin/);
      expect(corsProblem(config(rule({}), rule({ allowedMethods: [] })))).to.match(/AllowedMethod/);
    });

    it('refuses long IDs and a MaxAgeSeconds that is not a whole non-negative number', () => {
      expect(corsProblem(config(rule({ id: 'x'.repeat(256) })))).to.match(/255 characters/);
      expect(corsProblem(config(rule({ maxAgeSeconds: -1 })))).to.match(/MaxAgeSeconds/);
      expect(corsProblem(config(rule({ maxAgeSeconds: 1.5 })))).to.match(/MaxAgeSeconds/);
    });

    it('refuses with S3\'s messages: unknown methods, two wildcards, a wildcard in an exposed header', () => {
      const unknown = rule({ allowedMethods: ['GET', 'PATCH' as 'GET'] });
      expect(corsProblem(config(unknown))).to.equal('Found unsupported HTTP method in CORS config. Unsupported method is PATCH');
      expect(corsProblem(config(rule({ allowedMethods: ['get' as 'GET'] })))).to.equal('Found unsupported HTTP method in CORS config. Unsupported method is get');
      expect(corsProblem(config(rule({ allowedOrigins: ['https://a.example', 'http://*.*'] })))).to.equal('AllowedOrigin "http://*.*" can not have more than one wildcard.');
      expect(corsProblem(config(rule({ allowedHeaders: ['x-*-meta-*'] })))).to.equal('AllowedHeader "x-*-meta-*" can not have more than one wildcard.');
      expect(corsProblem(config(rule({ exposeHeaders: ['x-amz-*'] })))).to.equal('ExposeHeader "x-amz-*" contains wildcard. We currently do not support wildcard for ExposeHeader.');
    });

    it('judges a rule\'s methods before its origins, and the first bad rule', () => {
      const both = rule({ allowedOrigins: ['*.*'], allowedMethods: ['TRACE' as 'GET'] });
      expect(corsProblem(config(both))).to.match(/Unsupported method is TRACE/);
      expect(corsProblem(config(rule({ exposeHeaders: ['*'] }), both))).to.match(/^ExposeHeader "\*"/);
    });

    it('guards a stored configuration by its shape and its validity', () => {
      expect(isCorsConfig(config(rule({ id: 'a', maxAgeSeconds: 60 })))).to.equal(true);
      expect(isCorsConfig({ rules: [{ allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: [], exposeHeaders: [], id: undefined, maxAgeSeconds: undefined }] })).to.equal(true);
      expect(isCorsConfig(undefined)).to.equal(false);
      expect(isCorsConfig({ rules: 'x' })).to.equal(false);
      expect(isCorsConfig({ rules: [{ allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: [] }] })).to.equal(false);
      expect(isCorsConfig({ rules: [{ ...rule({}), allowedOrigins: [1] }] })).to.equal(false);
      expect(isCorsConfig({ rules: [{ ...rule({}), maxAgeSeconds: '60' }] })).to.equal(false);
      expect(isCorsConfig({ rules: [{ ...rule({}), allowedMethods: ['PATCH'] }] })).to.equal(false);
      expect(isCorsConfig({ rules: [] })).to.equal(false);
    });
  });

  describe('matching', () => {
    it('matches an origin exactly, case-sensitively', () => {
      expect(originAllowed('https://example.com', 'https://example.com')).to.equal(true);
      expect(originAllowed('https://example.com', 'https://example.com:8443')).to.equal(false);
      expect(originAllowed('https://example.com', 'http://example.com')).to.equal(false);
      expect(originAllowed('https://example.com', 'https://EXAMPLE.com')).to.equal(false);
      expect(originAllowed('https://Example.com', 'https://example.com')).to.equal(false);
    });

    it('lets one * stand for any text, anywhere in the pattern', () => {
      expect(originAllowed('*', 'https://anything.example')).to.equal(true);
      expect(originAllowed('http://*.example.com', 'http://www.example.com')).to.equal(true);
      expect(originAllowed('http://*.example.com', 'http://a.b.example.com')).to.equal(true);
      expect(originAllowed('http://*.example.com', 'http://example.com')).to.equal(false);
      expect(originAllowed('http://*.example.com', 'https://www.example.com')).to.equal(false);
      expect(originAllowed('http://*.example.com', 'http://www.example.com.evil')).to.equal(false);
      expect(originAllowed('*suffix', 'foo.suffix')).to.equal(true);
      expect(originAllowed('*suffix', 'foo.suffix.get')).to.equal(false);
      expect(originAllowed('start*end', 'startend')).to.equal(true);
      expect(originAllowed('start*end', 'start12end')).to.equal(true);
      expect(originAllowed('start*end', '0start12end')).to.equal(false);
      expect(originAllowed('prefix*', 'prefix')).to.equal(true);
      expect(originAllowed('prefix*', 'bla.prefix')).to.equal(false);
      // The text around the * does not overlap in the origin.
      expect(originAllowed('ab*ba', 'aba')).to.equal(false);
    });

    it('matches the method exactly, HEAD only where HEAD is allowed', () => {
      const rules = config(rule({ allowedMethods: ['GET', 'PUT'] }));
      expect(matchActual(rules, { origin: 'o', method: 'PUT' })).to.equal(rules.rules[0]);
      expect(matchActual(rules, { origin: 'o', method: 'HEAD' })).to.equal(undefined);
      expect(matchActual(rules, { origin: 'o', method: 'get' })).to.equal(undefined);
      expect(matchActual(config(rule({ allowedMethods: ['HEAD'] })), { origin: 'o', method: 'HEAD' })).to.not.equal(undefined);
      expect(matchPreflight(rules, { origin: 'o', method: 'DELETE', requestHeaders: [] })).to.equal(undefined);
    });

    it('judges an ordinary request by its Access-Control-Request-Method when it carries one', () => {
      const rules = config(rule({ allowedOrigins: ['*suffix'], allowedMethods: ['GET'] }), rule({ allowedOrigins: ['*.put'], allowedMethods: ['PUT'] }));
      expect(matchActual(rules, { origin: 'foo.suffix', method: 'PUT', accessControlRequestMethod: 'GET' })).to.equal(rules.rules[0]);
      expect(matchActual(rules, { origin: 'foo.suffix', method: 'PUT', accessControlRequestMethod: 'PUT' })).to.equal(undefined);
      expect(matchActual(rules, { origin: 'foo.suffix', method: 'PUT' })).to.equal(undefined);
      expect(matchActual(rules, { origin: 'foo.put', method: 'PUT', accessControlRequestMethod: undefined })).to.equal(rules.rules[1]);
    });

    it('allows a preflight only when every requested header is allowed, case-insensitively', () => {
      expect(headersAllowed([], [])).to.equal(true);
      expect(headersAllowed([], ['content-type'])).to.equal(false);
      expect(headersAllowed(['Content-Type'], ['content-type'])).to.equal(true);
      expect(headersAllowed(['content-type'], [' CONTENT-TYPE '])).to.equal(true);
      expect(headersAllowed(['content-type'], ['content-type', 'x-amz-date'])).to.equal(false);
      expect(headersAllowed(['*'], ['content-type', 'authorization', 'x-amz-meta-a'])).to.equal(true);
      expect(headersAllowed(['X-Amz-*'], ['x-amz-date', 'x-amz-meta-a'])).to.equal(true);
      expect(headersAllowed(['x-amz-*'], ['x-amzn-trace-id'])).to.equal(false);
      expect(headersAllowed(['x-*-id'], ['x-request-id'])).to.equal(true);
      expect(headersAllowed(['x-amz-meta-header1'], ['x-amz-meta-header2'])).to.equal(false);
      expect(headersAllowed([], ['', ' '])).to.equal(true);
    });

    it('reads Access-Control-Request-Headers as a comma-separated list', () => {
      expect(requestedHeaderNames('Content-Type,X-Amz-Date ,  x-amz-meta-Name')).to.deep.equal(['content-type', 'x-amz-date', 'x-amz-meta-name']);
      expect(requestedHeaderNames(' , ,')).to.deep.equal([]);
      expect(requestedHeaderNames(undefined)).to.deep.equal([]);
    });

    it('takes the first rule that matches origin, method and headers together', () => {
      const exact = rule({ id: 'exact', allowedOrigins: ['https://example.com'], allowedMethods: ['GET', 'PUT'] });
      const pattern = rule({ id: 'pattern', allowedOrigins: ['https://*.com'], allowedHeaders: ['*'] });
      const any = rule({ id: 'any', allowedMethods: ['GET', 'HEAD'] });
      const request = (method: string, requestHeaders: string[] = []) => ({ origin: 'https://example.com', method, requestHeaders });
      expect(matchPreflight(config(exact, pattern, any), request('GET'))?.id).to.equal('exact');
      expect(matchPreflight(config(any, pattern, exact), request('GET'))?.id).to.equal('any');
      expect(matchPreflight(config(pattern, exact, any), request('PUT'))?.id).to.equal('exact');
      expect(matchPreflight(config(exact, pattern, any), request('HEAD'))?.id).to.equal('any');
      expect(matchPreflight(config(exact, pattern, any), request('GET', ['x-amz-date']))?.id).to.equal('pattern');
      expect(matchActual(config(exact, pattern, any), { origin: 'https://example.com', method: 'GET' })?.id).to.equal('exact');
      expect(matchActual(config(pattern, exact), { origin: 'https://example.org', method: 'GET' })).to.equal(undefined);
    });

    it('matches nothing for an empty origin or an empty configuration', () => {
      expect(matchActual(config(rule({ allowedOrigins: ['*'] })), { origin: '', method: 'GET' })).to.equal(undefined);
      expect(matchPreflight(config(rule({ allowedOrigins: ['*'] })), { origin: '', method: 'GET', requestHeaders: [] })).to.equal(undefined);
      expect(matchActual(config(), { origin: 'o', method: 'GET' })).to.equal(undefined);
    });
  });

  describe('response headers', () => {
    const site = rule({
      allowedOrigins: ['https://example.com', 'https://*.example.com'], allowedMethods: ['GET', 'PUT', 'DELETE'],
      allowedHeaders: ['content-type', 'x-amz-*'], exposeHeaders: ['ETag', 'x-amz-request-id'], maxAgeSeconds: 3000,
    });

    it('echoes a named origin, allows credentials and lists the requested headers lower-cased, in S3\'s order', () => {
      const request = { origin: 'https://app.example.com', method: 'PUT', requestHeaders: ['Content-Type', ' X-Amz-Date'] };
      const headers = preflightHeaders(site, request);
      expect(headers).to.deep.equal({
        'Access-Control-Allow-Origin': 'https://app.example.com',
        'Access-Control-Allow-Methods': 'GET, PUT, DELETE',
        'Access-Control-Allow-Headers': 'content-type, x-amz-date',
        'Access-Control-Expose-Headers': 'ETag, x-amz-request-id',
        'Access-Control-Max-Age': '3000',
        'Access-Control-Allow-Credentials': 'true',
        Vary: VARY,
      });
      expect(Object.keys(headers)).to.deep.equal([
        'Access-Control-Allow-Origin', 'Access-Control-Allow-Methods', 'Access-Control-Allow-Headers', 'Access-Control-Expose-Headers',
        'Access-Control-Max-Age', 'Access-Control-Allow-Credentials', 'Vary',
      ]);
    });

    it('answers * without credentials for a rule open to every origin, and leaves out what the rule lacks', () => {
      expect(preflightHeaders(rule({}), { origin: 'example.origin', method: 'GET', requestHeaders: [] })).to.deep.equal({
        'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Methods': 'GET', Vary: VARY,
      });
      expect(actualHeaders(rule({ allowedOrigins: ['https://example.com', '*'], maxAgeSeconds: 0 }), 'https://example.com')).to.deep.equal({
        'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Methods': 'GET', 'Access-Control-Max-Age': '0', Vary: VARY,
      });
    });

    it('gives an ordinary response no Access-Control-Allow-Headers', () => {
      expect(actualHeaders(site, 'https://example.com')).to.deep.equal({
        'Access-Control-Allow-Origin': 'https://example.com',
        'Access-Control-Allow-Methods': 'GET, PUT, DELETE',
        'Access-Control-Expose-Headers': 'ETag, x-amz-request-id',
        'Access-Control-Max-Age': '3000',
        'Access-Control-Allow-Credentials': 'true',
        Vary: VARY,
      });
    });
  });

  describe('CORSConfiguration documents', () => {
    it('reads every element of each rule, keeping values as written', () => {
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n${document(
        '<ID>rule-1</ID><AllowedOrigin>https://example.com</AllowedOrigin><AllowedOrigin>http://*.Example.org</AllowedOrigin>'
          + '<AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedHeader>Authorization</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader>'
          + '<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds> 0042 </MaxAgeSeconds>',
        '<AllowedMethod>HEAD</AllowedMethod><AllowedOrigin>*</AllowedOrigin>',
      )}`;
      const parsed = parseCorsConfiguration(body);
      expect(parsed.ok && parsed.value).to.deep.equal({
        rules: [
          {
            id: 'rule-1', allowedOrigins: ['https://example.com', 'http://*.Example.org'], allowedMethods: ['PUT', 'GET'],
            allowedHeaders: ['Authorization', 'x-amz-*'], exposeHeaders: ['ETag'], maxAgeSeconds: 42,
          },
          { allowedOrigins: ['*'], allowedMethods: ['HEAD'], allowedHeaders: [], exposeHeaders: [] },
        ],
      });
    });

    it('writes the rules in order, each rule\'s elements as S3 writes them', () => {
      const written = buildCorsConfiguration(config(rule({ id: 'a&b', allowedOrigins: ['https://example.com'], allowedMethods: ['GET', 'PUT'], allowedHeaders: ['*'], exposeHeaders: ['ETag'], maxAgeSeconds: 60 }), rule({})));
      expect(written).to.equal(
        `<?xml version="1.0" encoding="UTF-8"?>\n<CORSConfiguration xmlns="${NS}">`
          + '<CORSRule><ID>a&amp;b</ID><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedOrigin>https://example.com</AllowedOrigin>'
          + '<AllowedHeader>*</AllowedHeader><MaxAgeSeconds>60</MaxAgeSeconds><ExposeHeader>ETag</ExposeHeader></CORSRule>'
          + '<CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>',
      );
    });

    it('reads back what it writes', () => {
      for (const original of [
        config(rule({})),
        config(
          rule({ id: '', allowedOrigins: ['*.get', '*.put'], allowedMethods: ['GET', 'PUT'] }),
          rule({ id: `<r> & "q" 'a' é`, allowedOrigins: ['https://example.com/?a=1&b=2'], allowedMethods: ['POST', 'DELETE', 'HEAD'], allowedHeaders: ['<x>', 'x-amz-*'], exposeHeaders: ['ETag', 'x-amz-version-id'], maxAgeSeconds: 2 ** 31 - 1 }),
        ),
        config(...Array.from({ length: 100 }, (_, index) => rule({ id: `rule-${index}`, maxAgeSeconds: index }))),
      ]) {
        const parsed = parseCorsConfiguration(buildCorsConfiguration(original));
        expect(parsed.ok && parsed.value).to.deep.equal(original);
      }
    });

    it('refuses a malformed document or one S3\'s schema refuses as MalformedXML', () => {
      for (const body of [
        '',
        'AllowedOrigin: *',
        `<CORSConfiguration><CORSRule>${MINIMAL}</CORSConfiguration>`,
        `<!DOCTYPE CORSConfiguration>${document(MINIMAL)}`,
        `<CORSRules><CORSRule>${MINIMAL}</CORSRule></CORSRules>`,
        `<CORSConfiguration><Rule>${MINIMAL}</Rule></CORSConfiguration>`,
        document(),
        `<CORSConfiguration xmlns="${NS}"/>`,
        `<CORSConfiguration>${MINIMAL}</CORSConfiguration>`,
        document(...Array.from({ length: 101 }, () => MINIMAL)),
        document(''),
        document('<AllowedMethod>GET</AllowedMethod>'),
        document(MINIMAL, '<AllowedOrigin>*</AllowedOrigin>'),
        document(`${MINIMAL}<AllowedHeaders>*</AllowedHeaders>`),
        document(`${MINIMAL}text`),
        document('<AllowedOrigin><Origin>*</Origin></AllowedOrigin><AllowedMethod>GET</AllowedMethod>'),
        document(`${MINIMAL}<MaxAgeSeconds></MaxAgeSeconds>`),
        document(`${MINIMAL}<MaxAgeSeconds>-1</MaxAgeSeconds>`),
        document(`${MINIMAL}<MaxAgeSeconds>1.5</MaxAgeSeconds>`),
        document(`${MINIMAL}<MaxAgeSeconds>2147483648</MaxAgeSeconds>`),
        document(`${MINIMAL}<MaxAgeSeconds>1</MaxAgeSeconds><MaxAgeSeconds>1</MaxAgeSeconds>`),
        document(`${MINIMAL}<ID>a</ID><ID>b</ID>`),
        document(`${MINIMAL}<ID>${'a'.repeat(256)}</ID>`),
        `<CORSConfiguration>${'<CORSRule>'.padEnd(64 * 1024, ' ')}${MINIMAL}</CORSRule></CORSConfiguration>`,
      ]) {
        expect(refusal(parseCorsConfiguration(body))?.code, body.slice(0, 120)).to.equal('MalformedXML');
      }
      expect(refusal(parseCorsConfiguration(new Uint8Array([0x3c, 0xff, 0xfe, 0x3e])))?.code).to.equal('MalformedXML');
    });

    it('refuses what the schema admits but S3 does not as InvalidRequest, after any MalformedXML', () => {
      expect(refusal(parseCorsConfiguration(document('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PATCH</AllowedMethod>')))).to.deep.equal({
        code: 'InvalidRequest', message: 'Found unsupported HTTP method in CORS config. Unsupported method is PATCH',
      });
      expect(refusal(parseCorsConfiguration(document('<AllowedOrigin>*</AllowedOrigin><AllowedMethod> GET</AllowedMethod>')))?.message).to.equal('Found unsupported HTTP method in CORS config. Unsupported method is  GET');
      expect(refusal(parseCorsConfiguration(document(MINIMAL, '<AllowedOrigin>*&lt;*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>')))).to.deep.equal({
        code: 'InvalidRequest', message: 'AllowedOrigin "*<*" can not have more than one wildcard.',
      });
      expect(refusal(parseCorsConfiguration(document(`${MINIMAL}<ExposeHeader>*</ExposeHeader>`)))?.code).to.equal('InvalidRequest');
      expect(refusal(parseCorsConfiguration(document('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>', '<AllowedOrigin>*</AllowedOrigin>')))?.code).to.equal('MalformedXML');
    });
  });
});
