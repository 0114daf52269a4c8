import { createHash } from 'node:crypto';
import type { DigestAlgorithm, Hasher } from '../core/integrity.js';

/** An incremental hash over node:crypto. */
export function nodeHasher(algorithm: DigestAlgorithm): Hasher {
  const hash = createHash(algorithm);
  return {
    update: (chunk) => void hash.update(chunk),
    digest: async () => new Uint8Array(hash.digest()),
  };
}
