/**
 * Every S3 error condition the gateway can answer with, its HTTP status and AWS's default message.
 * A client only ever sees a code from this table, a message, and the fields named here; anything
 * unexpected becomes InternalError with the default message, never the underlying detail.
 */
import { escapeXmlText } from './encoding.js';

interface ErrorSpec {
  readonly status: number;
  readonly message: string;
}

export const S3_ERRORS = {
  AccessDenied: { status: 403, message: 'Access Denied' },
  AccessForbidden: {
    status: 403,
    message:
      "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / " +
      "Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
  },
  AuthorizationHeaderMalformed: { status: 400, message: 'The authorization header you provided is invalid.' },
  AuthorizationQueryParametersError: {
    status: 400,
    message: 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters',
  },
  BadRequest: { status: 400, message: 'Bad Request' },
  BadDigest: { status: 400, message: 'The Content-MD5 you specified did not match what we received.' },
  BucketAlreadyExists: {
    status: 409,
    message:
      'The requested bucket name is not available. The bucket namespace is shared by all users of the system. ' +
      'Please select a different name and try again.',
  },
  BucketAlreadyOwnedByYou: {
    status: 409,
    message: 'Your previous request to create the named bucket succeeded and you already own it.',
  },
  BucketNotEmpty: { status: 409, message: 'The bucket you tried to delete is not empty' },
  ConditionalRequestConflict: {
    status: 409,
    message: 'The conditional request cannot succeed due to a conflicting operation against this resource.',
  },
  EntityTooLarge: { status: 400, message: 'Your proposed upload exceeds the maximum allowed size' },
  EntityTooSmall: { status: 400, message: 'Your proposed upload is smaller than the minimum allowed object size.' },
  IncorrectNumberOfFilesInPostRequest: { status: 400, message: 'POST requires exactly one file upload per request.' },
  InvalidPolicyDocument: { status: 400, message: 'The content of the form does not meet the conditions specified in the policy document.' },
  MalformedPOSTRequest: { status: 400, message: 'The body of your POST request is not well-formed multipart/form-data.' },
  MaxPostPreDataLengthExceededError: { status: 400, message: 'Your POST request fields preceding the upload file were too large.' },
  ExpiredToken: { status: 400, message: 'The provided token has expired.' },
  IllegalLocationConstraintException: {
    status: 400,
    message: 'The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.',
  },
  IncompleteBody: {
    status: 400,
    message: 'You did not provide the number of bytes specified by the Content-Length HTTP header',
  },
  InsufficientStorage: { status: 507, message: 'There is not enough storage space left to complete the request.' },
  InternalError: { status: 500, message: 'We encountered an internal error. Please try again.' },
  InvalidAccessKeyId: { status: 403, message: 'The AWS Access Key Id you provided does not exist in our records.' },
  InvalidArgument: { status: 400, message: 'Invalid Argument' },
  InvalidBucketName: { status: 400, message: 'The specified bucket is not valid.' },
  InvalidBucketState: { status: 409, message: 'The request is not valid with the current state of the bucket.' },
  InvalidDigest: { status: 400, message: 'The Content-MD5 you specified is not valid.' },
  InvalidLocationConstraint: { status: 400, message: 'The specified location constraint is not valid.' },
  InvalidPart: {
    status: 400,
    message:
      'One or more of the specified parts could not be found.  The part may not have been uploaded, ' +
      "or the specified entity tag may not match the part's entity tag.",
  },
  InvalidPartNumber: { status: 416, message: 'The requested partnumber is not satisfiable' },
  InvalidPartOrder: {
    status: 400,
    message: 'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
  },
  InvalidRange: { status: 416, message: 'The requested range is not satisfiable' },
  InvalidRequest: { status: 400, message: 'Invalid Request' },
  InvalidRetentionPeriod: { status: 400, message: 'The retention period must be a positive whole number of days or years.' },
  InvalidStorageClass: { status: 400, message: 'The storage class you specified is not valid' },
  InvalidTag: { status: 400, message: 'The tag provided was not a valid tag.' },
  NoSuchTagSet: { status: 404, message: 'The TagSet does not exist' },
  NoSuchLifecycleConfiguration: { status: 404, message: 'The lifecycle configuration does not exist' },
  NoSuchBucketPolicy: { status: 404, message: 'The bucket policy does not exist' },
  InvalidEncryptionAlgorithmError: { status: 400, message: 'The encryption request you specified is not valid. The valid value is AES256.' },
  ServerSideEncryptionConfigurationNotFoundError: { status: 404, message: 'The server side encryption configuration was not found' },
  'KMS.NotFoundException': { status: 400, message: 'Invalid keyId' },
  UnresolvableGrantByEmailAddress: { status: 400, message: 'The e-mail address you provided does not match any account on record.' },
  OwnershipControlsNotFoundError: { status: 404, message: 'The bucket ownership controls were not found' },
  AccessControlListNotSupported: { status: 400, message: 'The bucket does not allow ACLs' },
  InvalidBucketAclWithObjectOwnership: { status: 400, message: 'Bucket cannot have ACLs set with ObjectOwnership\'s BucketOwnerEnforced setting' },
  NoSuchCORSConfiguration: { status: 404, message: 'The CORS configuration does not exist' },
  NoSuchPublicAccessBlockConfiguration: { status: 404, message: 'The public access block configuration was not found' },
  MalformedPolicy: { status: 400, message: 'Policy has invalid resource' },
  ObjectLockConfigurationNotFoundError: { status: 404, message: 'Object Lock configuration does not exist for this bucket' },
  NoSuchObjectLockConfiguration: { status: 404, message: 'The specified object does not have a ObjectLock configuration' },
  InvalidURI: { status: 400, message: "Couldn't parse the specified URI." },
  KeyTooLongError: { status: 400, message: 'Your key is too long' },
  MalformedACLError: {
    status: 400,
    message: 'The XML you provided was not well-formed or did not validate against our published schema',
  },
  MalformedTrailerError: {
    status: 400,
    message: 'The request contained trailing data that was not well-formed or did not conform to our published schema.',
  },
  MalformedXML: {
    status: 400,
    message: 'The XML you provided was not well-formed or did not validate against our published schema',
  },
  MaxMessageLengthExceeded: { status: 400, message: 'Your request was too big.' },
  MetadataTooLarge: { status: 400, message: 'Your metadata headers exceed the maximum allowed metadata size.' },
  MethodNotAllowed: { status: 405, message: 'The specified method is not allowed against this resource.' },
  MissingContentLength: { status: 411, message: 'You must provide the Content-Length HTTP header.' },
  MissingRequestBodyError: { status: 400, message: 'Request Body is empty' },
  MissingSecurityHeader: { status: 400, message: 'Your request is missing a required header.' },
  NoSuchBucket: { status: 404, message: 'The specified bucket does not exist' },
  NoSuchKey: { status: 404, message: 'The specified key does not exist.' },
  NoSuchUpload: {
    status: 404,
    message:
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  },
  NoSuchVersion: { status: 404, message: 'The specified version does not exist.' },
  NotImplemented: { status: 501, message: 'A header you provided implies functionality that is not implemented' },
  NotModified: { status: 304, message: 'Not Modified' },
  OperationAborted: {
    status: 409,
    message: 'A conflicting conditional operation is currently in progress against this resource. Please try again.',
  },
  PreconditionFailed: { status: 412, message: 'At least one of the pre-conditions you specified did not hold' },
  RequestHeaderSectionTooLarge: {
    status: 400,
    message: 'Your request header section exceeds the maximum allowed size.',
  },
  RequestTimeout: {
    status: 400,
    message: 'Your socket connection to the server was not read from or written to within the timeout period. ' +
      'Idle connections will be closed.',
  },
  RequestTimeTooSkewed: {
    status: 403,
    message: 'The difference between the request time and the current time is too large.',
  },
  ServiceUnavailable: { status: 503, message: 'Please reduce your request rate.' },
  SignatureDoesNotMatch: {
    status: 403,
    message:
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  },
  SlowDown: { status: 503, message: 'Please reduce your request rate.' },
  TooManyBuckets: { status: 400, message: 'You have attempted to create more buckets than allowed' },
  TooManyParts: { status: 400, message: 'You have attempted to upload more parts than allowed' },
  UnexpectedContent: { status: 400, message: 'This request does not support content' },
  UserKeyMustBeSpecified: {
    status: 400,
    message: 'The bucket POST request must contain the specified field name. If it is specified, check the order of the fields.',
  },
  XAmzContentSHA256Mismatch: {
    status: 400,
    message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
  },
} as const satisfies Record<string, ErrorSpec>;

export type S3ErrorCode = keyof typeof S3_ERRORS;

export function isS3ErrorCode(code: string): code is S3ErrorCode {
  return Object.hasOwn(S3_ERRORS, code);
}

export interface S3ErrorOptions {
  /** The resource the request addressed (`/bucket/key`), shown as `<Resource>`. */
  readonly resource?: string;
  /** Extra elements of the error body, in order (BucketName, Key, UploadId, Condition, ...). */
  readonly fields?: Readonly<Record<string, string>>;
  /** Extra response headers that belong with this error (e.g. Content-Range on a 416). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** An S3 error response as data; thrown or returned, it is always safe to show the client. */
export class S3Error extends Error {
  override readonly name = 'S3Error';
  readonly code: S3ErrorCode;
  readonly status: number;
  readonly resource: string | undefined;
  readonly fields: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: S3ErrorCode, message?: string, options: S3ErrorOptions = {}) {
    const spec: ErrorSpec = S3_ERRORS[code];
    super(message ?? spec.message);
    this.code = code;
    this.status = spec.status;
    this.resource = options.resource;
    this.fields = options.fields ?? {};
    this.headers = options.headers ?? {};
  }

  /** A copy of this error naming the addressed resource, for handlers that learn it late. */
  withResource(resource: string): S3Error {
    return new S3Error(this.code, this.message, { resource, fields: this.fields, headers: this.headers });
  }
}

/**
 * The one way to turn anything caught into a client-safe error: an S3Error passes through,
 * everything else is InternalError with the default message so no internal detail leaks.
 */
export function toS3Error(error: unknown): S3Error {
  return error instanceof S3Error ? error : new S3Error('InternalError');
}

export interface ErrorContext {
  readonly resource?: string | undefined;
  readonly requestId: string;
  readonly hostId?: string | undefined;
}

/** Whether a response with this status may carry the XML body (304 and HEAD responses may not). */
export function errorHasBody(error: S3Error, method: string): boolean {
  return error.status !== 304 && method.toUpperCase() !== 'HEAD';
}

/** An error body and its media type. */
export interface ErrorDocument {
  readonly contentType: string;
  readonly body: string;
  /** The request headers the choice of document depended on, for the response's Vary header. */
  readonly vary?: string;
}

/** The S3 error document as a response body. */
export function xmlErrorDocument(error: S3Error, context: ErrorContext): ErrorDocument {
  return { contentType: 'application/xml', body: errorXml(error, context) };
}

/** The exact S3 error document: Code, Message, the error's fields, Resource, RequestId, HostId. */
export function errorXml(error: S3Error, context: ErrorContext): string {
  const parts = [
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error>',
    `<Code>${error.code}</Code>`,
    `<Message>${escapeXmlText(error.message)}</Message>`,
  ];
  for (const [name, value] of Object.entries(error.fields)) {
    parts.push(`<${name}>${escapeXmlText(value)}</${name}>`);
  }
  const resource = context.resource ?? error.resource;
  if (resource !== undefined) parts.push(`<Resource>${escapeXmlText(resource)}</Resource>`);
  parts.push(`<RequestId>${escapeXmlText(context.requestId)}</RequestId>`);
  if (context.hostId !== undefined) parts.push(`<HostId>${escapeXmlText(context.hostId)}</HostId>`);
  parts.push('</Error>');
  return parts.join('');
}
