/** Checks a downloaded body: the server's byte pattern, and its sha256 with WebCrypto. */

/** Byte `i` of every demo body (the same formula as the server's `patternByte`). */
export function patternByte(i: number): number {
  return (i * 31 + (i >>> 8) + 7) & 0xff;
}

/** Whether `bytes` is the pattern from byte 0. */
export function isPattern(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.byteLength; i++) if (bytes[i] !== patternByte(i)) return false;
  return true;
}

/** The sha256 of `data`, in hex. */
export async function sha256Hex(data: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
