/**
 * A random identifier (task ids, the IndexedDB store's owner tokens): a UUID where the platform
 * makes one (`crypto.randomUUID`, secure contexts only in browsers), else 128 random bits in hex
 * (`getRandomValues`, also on plain-http pages), else time and `Math.random`.
 */
export function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string; getRandomValues?<T extends Uint8Array>(a: T): T } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  if (c?.getRandomValues) return Array.from(c.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}
