"""Access control, browser-facing S3 and encryption as boto3 uses them, against one gateway.

Usage: boto3-features.py ENDPOINT BUCKET OWNER_KEY OWNER_SECRET OTHER_KEY OTHER_SECRET OTHER_ID KMS_KEY_ID
Exits 0 when every check holds; otherwise prints the one that failed and exits 1.
"""
import base64
import json
import os
import sys

import boto3
import requests
from botocore.client import Config
from botocore.exceptions import ClientError

endpoint, bucket, owner_key, owner_secret, other_key, other_secret, other_id, kms_key = sys.argv[1:9]


def client(key, secret):
    return boto3.client('s3', endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                        region_name='us-east-1', config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))


owner = client(owner_key, owner_secret)
other = client(other_key, other_secret)


def check(condition, what):
    if not condition:
        print('FAILED: ' + what, file=sys.stderr)
        sys.exit(1)


def error_of(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as error:
        return error.response['Error']['Code'], error.response['ResponseMetadata']['HTTPStatusCode']
    return None


# Bucket policy: another user may read one prefix; an explicit deny wins.
owner.put_object(Bucket=bucket, Key='docs/readme.txt', Body=b'shared')
owner.put_object(Bucket=bucket, Key='private/notes.txt', Body=b'mine')
policy = {'Version': '2012-10-17', 'Statement': [
    {'Effect': 'Allow', 'Principal': {'AWS': [other_id]}, 'Action': 's3:GetObject', 'Resource': f'arn:aws:s3:::{bucket}/*'},
    {'Effect': 'Deny', 'Principal': '*', 'Action': 's3:GetObject', 'Resource': f'arn:aws:s3:::{bucket}/private/*'},
]}
owner.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
check(json.loads(owner.get_bucket_policy(Bucket=bucket)['Policy']) == policy, 'the policy comes back as put')
check(other.get_object(Bucket=bucket, Key='docs/readme.txt')['Body'].read() == b'shared', 'the policy lets the other user read docs/')
check(error_of(other.get_object, Bucket=bucket, Key='private/notes.txt') == ('AccessDenied', 403), 'the deny keeps private/ from the other user')
check(error_of(owner.put_bucket_policy, Bucket=bucket, Policy='{"Statement": 1}')[0] == 'MalformedPolicy', 'a malformed policy is refused')
owner.delete_bucket_policy(Bucket=bucket)

# ACLs: a grant to a user, a canned ACL on an object.
owner.put_object(Bucket=bucket, Key='granted.txt', Body=b'granted', GrantRead=f'id="{other_id}"')
check(other.get_object(Bucket=bucket, Key='granted.txt')['Body'].read() == b'granted', 'the object grant lets the other user read')
grants = owner.get_object_acl(Bucket=bucket, Key='granted.txt')['Grants']
check([(g['Grantee'].get('ID'), g['Permission']) for g in grants] == [(other_id, 'READ')], 'the object ACL lists the grants given')
owner.put_object_acl(Bucket=bucket, Key='granted.txt', ACL='private')
check(error_of(other.get_object, Bucket=bucket, Key='granted.txt') == ('AccessDenied', 403), 'a private ACL takes the grant back')

# CORS: rules kept, a preflight answered from them.
owner.put_bucket_cors(Bucket=bucket, CORSConfiguration={'CORSRules': [
    {'AllowedOrigins': ['https://app.example.com'], 'AllowedMethods': ['GET', 'PUT'], 'AllowedHeaders': ['*'], 'MaxAgeSeconds': 60}]})
check(owner.get_bucket_cors(Bucket=bucket)['CORSRules'][0]['AllowedMethods'] == ['GET', 'PUT'], 'the CORS rules come back')
preflight = requests.options(f'{endpoint}/{bucket}/docs/readme.txt', headers={
    'Origin': 'https://app.example.com', 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'content-type'}, timeout=10)
check(preflight.status_code == 200 and preflight.headers.get('Access-Control-Allow-Origin') == 'https://app.example.com', 'an allowed preflight is answered')
check(requests.options(f'{endpoint}/{bucket}/x', headers={'Origin': 'https://evil.example', 'Access-Control-Request-Method': 'GET'}, timeout=10).status_code == 403,
      'a preflight from another origin is refused')

# POST object: a form boto3 signs, posted as a browser would.
form = owner.generate_presigned_post(bucket, 'uploads/${filename}', Fields={'Content-Type': 'text/plain'},
                                     Conditions=[{'Content-Type': 'text/plain'}, ['starts-with', '$key', 'uploads/'], ['content-length-range', 1, 1024]], ExpiresIn=300)
posted = requests.post(form['url'], data=form['fields'], files={'file': ('hello.txt', b'posted from a form')}, timeout=10)
check(posted.status_code == 204, f'the signed form is stored (got {posted.status_code} {posted.text[:200]})')
check(owner.get_object(Bucket=bucket, Key='uploads/hello.txt')['Body'].read() == b'posted from a form', 'the posted file reads back')
too_big = requests.post(form['url'], data=form['fields'], files={'file': ('big.txt', b'x' * 2048)}, timeout=10)
check(too_big.status_code == 400 and 'EntityTooLarge' in too_big.text, 'a file over the range is refused')

# Encryption: SSE-C with the right and the wrong key, SSE-S3 and a bucket default.
key = os.urandom(32)
owner.put_object(Bucket=bucket, Key='sse-c', Body=b'customer secret', SSECustomerAlgorithm='AES256', SSECustomerKey=key)
got = owner.get_object(Bucket=bucket, Key='sse-c', SSECustomerAlgorithm='AES256', SSECustomerKey=key)
check(got['Body'].read() == b'customer secret' and got['SSECustomerAlgorithm'] == 'AES256', 'SSE-C reads back with its key')
check(error_of(owner.get_object, Bucket=bucket, Key='sse-c', SSECustomerAlgorithm='AES256', SSECustomerKey=os.urandom(32))[1] == 400, 'SSE-C refuses another key')
check(error_of(owner.head_object, Bucket=bucket, Key='sse-c') is not None, 'SSE-C refuses a read without the key')
check(owner.put_object(Bucket=bucket, Key='sse-s3', Body=b'managed', ServerSideEncryption='AES256')['ServerSideEncryption'] == 'AES256', 'SSE-S3 is acknowledged')
check(owner.get_object(Bucket=bucket, Key='sse-s3')['Body'].read() == b'managed', 'SSE-S3 reads back')
owner.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={'Rules': [{'ApplyServerSideEncryptionByDefault': {'SSEAlgorithm': 'AES256'}}]})
check(owner.put_object(Bucket=bucket, Key='by-default', Body=b'd').get('ServerSideEncryption') == 'AES256', 'the bucket default encrypts')
kms = owner.put_object(Bucket=bucket, Key='kms', Body=b'k', ServerSideEncryption='aws:kms', SSEKMSKeyId=kms_key)
check(kms['ServerSideEncryption'] == 'aws:kms' and kms['SSEKMSKeyId'] == kms_key, 'SSE-KMS names its key')
check(owner.get_object(Bucket=bucket, Key='kms')['Body'].read() == b'k', 'SSE-KMS reads back')
check(error_of(owner.put_object, Bucket=bucket, Key='kms', Body=b'k', ServerSideEncryption='aws:kms', SSEKMSKeyId='no-such-key')[1] == 400, 'an unknown KMS key is refused')

# Public access block.
owner.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
    'BlockPublicAcls': True, 'IgnorePublicAcls': False, 'BlockPublicPolicy': True, 'RestrictPublicBuckets': False})
check(error_of(owner.put_object, Bucket=bucket, Key='public', Body=b'p', ACL='public-read') == ('AccessDenied', 403), 'a blocked public ACL is refused')
print('ok')
