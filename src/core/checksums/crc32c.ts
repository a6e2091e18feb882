/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), for S3's x-amz-checksum-crc32c. */
import { makeCrc32Variant } from './crc32.js';

/** CRC-32C of `data`, continuing from `previous` (the CRC of the bytes before it) when given. */
export const crc32c = makeCrc32Variant(0x82f63b78);
