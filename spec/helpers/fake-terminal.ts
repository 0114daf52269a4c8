import { Writable } from 'node:stream';

/** A terminal (`isTTY`, `columns` wide) that keeps what is written to it. */
export function fakeTerminal(columns = 100): Writable & { isTTY: boolean; columns: number; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  return Object.assign(stream, { isTTY: true, columns, text: () => chunks.join('') });
}
