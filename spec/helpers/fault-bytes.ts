import { createHash } from 'node:crypto';

/**
 * Deterministic bodies for the loopback fault server: the byte at any offset depends only on
 * (seed, offset), so a test can compute the expected digest of a whole body or of a range
 * without holding it, and the server can serve `Range` requests from any offset.
 */

/** Bytes per generated block; each block is seeded from (seed, block index). */
export const BLOCK = 64 * 1024;

function mix(seed: number, index: number): number {
  // A small integer hash (from murmur3's finaliser); never returns 0, which xorshift cannot leave.
  let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h === 0 ? 0x6d2b79f5 : h;
}

/** Block `index` of the stream seeded by `seed` (always {@link BLOCK} bytes). */
export function seededBlock(seed: number, index: number): Buffer {
  const words = new Uint32Array(BLOCK / 4);
  let x = mix(seed, index);
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return Buffer.from(words.buffer);
}

/** The bytes [from, to) of the stream seeded by `seed`, as slices of at most `chunk` bytes. */
export function* seededChunks(seed: number, from: number, to: number, chunk = BLOCK): Generator<Buffer> {
  let at = from;
  while (at < to) {
    const index = Math.floor(at / BLOCK);
    const block = seededBlock(seed, index);
    const blockEnd = Math.min(to, (index + 1) * BLOCK);
    for (let p = at; p < blockEnd; p += chunk) {
      const end = Math.min(blockEnd, p + chunk);
      yield block.subarray(p - index * BLOCK, end - index * BLOCK);
    }
    at = blockEnd;
  }
}

/** The bytes [from, to) in one buffer; for small bodies. */
export function seededBytes(seed: number, size: number, from = 0): Buffer {
  return Buffer.concat([...seededChunks(seed, from, from + size)]);
}

/** The digest of the bytes [from, from + size), computed without holding them. */
export function seededDigest(seed: number, size: number, algorithm = 'sha256', from = 0): Buffer {
  const hash = createHash(algorithm);
  for (const chunk of seededChunks(seed, from, from + size)) hash.update(chunk);
  return hash.digest();
}

/** Hex sha256 of a seeded body, as the server records uploads. */
export function seededSha256Hex(seed: number, size: number): string {
  return seededDigest(seed, size).toString('hex');
}

/** Subresource Integrity string (`sha256-<base64>`) of a seeded body. */
export function seededIntegrity(seed: number, size: number, algorithm: 'sha256' | 'sha384' | 'sha512' = 'sha256'): string {
  return `${algorithm}-${seededDigest(seed, size, algorithm).toString('base64')}`;
}

/** Hex sha256 of bytes in memory. */
export function sha256Hex(data: Uint8Array | ArrayBuffer): string {
  return createHash('sha256').update(data instanceof ArrayBuffer ? new Uint8Array(data) : data).digest('hex');
}
