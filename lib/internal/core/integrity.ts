/** Digest algorithms accepted in `integrity` (Subresource Integrity form). */
export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512';

/** An incremental hash, supplied by the platform (node:crypto, or WebCrypto over buffered bytes). */
export interface Hasher {
  update(chunk: Uint8Array): void;
  digest(): Promise<Uint8Array>;
}

/** Makes a {@link Hasher}; each platform has one. */
export type HasherFactory = (algorithm: DigestAlgorithm) => Hasher;

/** The parsed `integrity` option: the strongest algorithm given and the digests accepted for it. */
export interface IntegrityExpectation {
  readonly algorithm: DigestAlgorithm;
  readonly digests: readonly string[];
}

const STRENGTH: Record<DigestAlgorithm, number> = { sha256: 1, sha384: 2, sha512: 3 };
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const LENGTH: Record<DigestAlgorithm, number> = { sha256: 32, sha384: 48, sha512: 64 };

/**
 * Parses SRI metadata such as `sha256-<base64>` (several, space separated, are allowed; the
 * strongest algorithm wins, as browsers do). Returns a message when it cannot be used.
 */
export function parseIntegrity(value: unknown): IntegrityExpectation | string {
  if (typeof value !== 'string') return 'integrity must be a string';
  const entries = value.trim().split(/\s+/).filter(Boolean);
  if (entries.length === 0) return 'integrity is empty';
  let best: IntegrityExpectation | undefined;
  for (const entry of entries) {
    const m = /^(sha256|sha384|sha512)-([^?\s]+)(\?.*)?$/.exec(entry);
    if (!m) return `integrity "${entry.slice(0, 80)}" is not "sha256-<base64>", "sha384-…" or "sha512-…"`;
    const algorithm = m[1] as DigestAlgorithm;
    const digest = m[2]!;
    if (!BASE64.test(digest) || base64ByteLength(digest) !== LENGTH[algorithm]) {
      return `integrity "${entry.slice(0, 80)}" does not hold a ${algorithm} digest in base64`;
    }
    if (!best || STRENGTH[algorithm] > STRENGTH[best.algorithm]) best = { algorithm, digests: [digest] };
    else if (best.algorithm === algorithm) best = { algorithm, digests: [...best.digests, digest] };
  }
  return best!;
}

function base64ByteLength(b64: string): number {
  const padding = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
  return (b64.length * 3) / 4 - padding;
}

/** Base64 of bytes without Node's Buffer. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
  return btoa(binary);
}
