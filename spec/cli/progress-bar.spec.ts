import { Writable } from 'node:stream';
import { ProgressBar, RESTORE_TERMINAL } from '../../lib/cli/progress-bar';

/** A terminal that keeps what is written to it. */
function fakeTerminal(): Writable & { isTTY: boolean; columns: number; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  return Object.assign(stream, { isTTY: true, columns: 100, text: () => chunks.join('') });
}

describe('ProgressBar and the terminal it borrows', () => {
  it('a process that exits while the bar is drawn (a second Ctrl-C) shows the cursor and wraps lines again', () => {
    const terminal = fakeTerminal();
    const bar = new ProgressBar(terminal, 'big.iso');
    const before = process.listeners('exit');
    bar.start();
    try {
      expect(terminal.text()).toContain('\u001b[?25l'); // hidden while drawn
      const added = process.listeners('exit').filter((l) => !before.includes(l));
      expect(added).toHaveLength(1);
      added[0]!.call(process, 130);
      expect(terminal.text().endsWith(RESTORE_TERMINAL)).toBe(true);
    } finally {
      bar.stop();
    }
    // Stopped: nothing left to restore, and no listener kept.
    expect(process.listeners('exit')).toEqual(before);
  });
});
