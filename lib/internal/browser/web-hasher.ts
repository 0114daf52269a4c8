import type { DigestAlgorithm, Hasher } from '../core/integrity.js';
import { concatChunks } from '../core/sink.js';
import { TransferError } from '../core/errors/transfer-error.js';

const NAMES: Record<DigestAlgorithm, string> = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };

/** WebCrypto has no incremental digest: the chunks are kept and hashed at the end (in-memory bodies only). */
export function webHasher(algorithm: DigestAlgorithm): Hasher {
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  if (typeof subtle?.digest !== 'function') {
    throw new TransferError('invalid', 'integrity needs WebCrypto (crypto.subtle), which browsers give only to secure contexts: https, or http://localhost');
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  return {
    update(chunk) {
      chunks.push(chunk);
      size += chunk.byteLength;
    },
    async digest() {
      const all = concatChunks(chunks, size);
      return new Uint8Array(await subtle.digest(NAMES[algorithm], all as Uint8Array<ArrayBuffer>));
    },
  };
}
