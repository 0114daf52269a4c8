import { displayWidth } from '../../lib/cli/format';
import { formatProgressLine, ProgressBar, RESTORE_TERMINAL } from '../../lib/cli/progress-bar';
import { TaskBars } from '../../lib/cli/session-display';
import { fakeTerminal } from '../helpers/fake-terminal';

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

/**
 * What a terminal shows after `text`: its rows (trailing spaces cut), where the cursor is and
 * whether it is visible. Knows what cli-progress and readline write: CR, LF (a pty's onlcr: to
 * column 0 of the next row), cursor up/down/column, clear line, clear screen down, ?25 and ?7.
 */
function render(text: string): { rows: string[]; row: number; col: number; cursorShown: boolean; wraps: boolean } {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  let cursorShown = true;
  let wraps = true;
  const at = (r: number) => (rows[r] ??= []);
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\u001b') {
      // eslint-disable-next-line no-control-regex -- escape sequences are what it reads
      const m = /^\u001b\[(\?)?(\d*)([A-Za-z])/.exec(text.slice(i));
      if (!m) throw new Error(`unknown escape at ${i}: ${JSON.stringify(text.slice(i, i + 8))}`);
      i += m[0].length - 1;
      const n = m[2] === '' ? undefined : Number(m[2]);
      if (m[1] === '?') {
        if (n === 25) cursorShown = m[3] === 'h';
        if (n === 7) wraps = m[3] === 'h';
      } else if (m[3] === 'A') row = Math.max(0, row - (n ?? 1));
      else if (m[3] === 'B') row += n ?? 1;
      else if (m[3] === 'C') col += n ?? 1;
      else if (m[3] === 'D') col = Math.max(0, col - (n ?? 1));
      else if (m[3] === 'G') col = (n ?? 1) - 1;
      else if (m[3] === 'K') {
        if ((n ?? 0) === 0) at(row).length = Math.min(at(row).length, col);
        else if (n === 2) rows[row] = [];
        else for (let c = 0; c <= col; c++) at(row)[c] = ' ';
      } else if (m[3] === 'J') {
        at(row).length = Math.min(at(row).length, col);
        rows.length = Math.min(rows.length, row + 1);
      } else throw new Error(`unknown escape ${m[0]}`);
    } else if (ch === '\r') col = 0;
    else if (ch === '\n') {
      row++;
      col = 0;
    } else {
      const line = at(row);
      while (line.length < col) line.push(' ');
      line[col++] = ch;
    }
  }
  for (let r = 0; r <= row; r++) at(r);
  return { rows: [...rows].map((r) => (r ?? []).join('').trimEnd()), row, col, cursorShown, wraps };
}

describe('a progress line in a narrow terminal', () => {
  const GiB = 1024 ** 3;
  const event = { type: 'progress' as const, direction: 'download' as const, loaded: 1.2 * GiB, delta: 0, total: 2.85 * GiB, percent: 42, bytesPerSecond: 31.5 * 1024 ** 2, attempt: 1 };
  const numbers = / {2}42% 1\.20 GiB\/2\.85 GiB 31\.5 MiB\/s ETA 0:54$/;
  const label = 'ubuntu-24.04.1-live-server-amd64.iso';

  it('keeps the numbers in sight: the bar narrows, then the label is shortened in its middle, then the bar is left out', () => {
    expect(formatProgressLine(label, event)).toBe(`${label} [${'█'.repeat(10)}${'░'.repeat(14)}]  42% 1.20 GiB/2.85 GiB 31.5 MiB/s ETA 0:54`);
    for (const width of [120, 100, 80, 60, 56]) {
      const line = formatProgressLine(label, event, width);
      expect(line).toMatch(numbers);
      expect(Array.from(line).length).toBeLessThanOrEqual(width - 1);
    }
    expect(formatProgressLine(label, event, 100)).toMatch(/^ubuntu-24\.04\.1-live-server-amd64\.iso \[[█░]{10,24}\] /);
    expect(formatProgressLine(label, event, 80)).toMatch(/^ubun.+….+\.iso \[[█░]{10}\] /);
    expect(formatProgressLine(label, event, 60)).toMatch(/^ubun.+….+\.iso {2}42%/);
    // Narrower than the numbers: a label of 12 columns, the terminal crops the rest; never a throw.
    for (const width of [50, 30, 10, 1, 0]) expect(formatProgressLine(label, event, width)).toMatch(/^ubuntu…4\.iso {2}42% /);
    expect(formatProgressLine(label, undefined, 20)).toBe('ubuntu…4.iso connecting…');
    expect(formatProgressLine(label, { ...event, total: undefined, percent: undefined }, 40)).toBe('ubuntu-24…amd64.iso 1.20 GiB 31.5 MiB/s');
  });

  /** Columns of a line of ASCII, block characters and CJK ideographs (two each): an oracle independent of displayWidth. */
  const cjkColumns = (line: string) => Array.from(line).length + (line.match(/[\u4e00-\u9fff]/g) ?? []).length;

  it('counts a wide character (CJK) as two columns: a long CJK name is shortened to fit, the numbers stay in sight', () => {
    const cjk = '東京都地図資料二千二十四年版完全収録集合体最新改訂版.iso';
    expect(cjkColumns(cjk)).toBeGreaterThan(50);
    for (const width of [120, 100, 80, 60, 56]) {
      const line = formatProgressLine(cjk, event, width);
      expect(line).toMatch(numbers);
      expect(cjkColumns(line)).toBeLessThanOrEqual(width - 1);
    }
    expect(formatProgressLine(cjk, event, 80)).toMatch(/^東京.+….+\.iso \[[█░]{10,}\] /);
    expect(cjkColumns(formatProgressLine(cjk, undefined, 30))).toBeLessThanOrEqual(29);
  });

  it('counts emoji as two columns and combining marks as none; never cuts a character in two', () => {
    expect(['a', '字', 'ｱ', '가', '🎉', '🫠', '👨\u200d👩\u200d👧', '🇯🇵', '❤\ufe0f', '\u2764', 'e\u0301', '\u200b', '\u0301', '…'].map(displayWidth)).toEqual([1, 2, 1, 2, 2, 2, 2, 2, 2, 1, 1, 0, 0, 1]);
    expect(displayWidth('東京 tokyo 🎉')).toBe(13);
    // A name with combining accents (as macOS writes them) is as wide as its letters: not shortened.
    const accents = 'cafe\u0301-re\u0301sume\u0301-na\u0308ive.txt';
    expect(formatProgressLine(accents, event, 80)).toMatch(new RegExp(`^${accents} \\[`));
    const party = `${'🎉'.repeat(20)}-${'👨\u200d👩\u200d👧'.repeat(10)}.bin`;
    for (const width of [100, 80, 60]) {
      const line = formatProgressLine(party, event, width);
      expect(line).toMatch(numbers);
      expect(displayWidth(line)).toBeLessThanOrEqual(width - 1);
      // Whole family emoji only: no lone joiner or person cut from one.
      expect(line.replace(/👨\u200d👩\u200d👧/g, '')).not.toMatch(/[\u200d👨👩👧]/u);
    }
  });

  it('drawn on a terminal of 60 columns, the row holds the percent, the sizes, the rate and the ETA', () => {
    const terminal = Object.assign(fakeTerminal(), { columns: 60 });
    const bar = new ProgressBar(terminal, label);
    bar.update(event);
    bar.stop();
    // Each redraw goes back to column 1; the last one is what the row shows.
    // eslint-disable-next-line no-control-regex -- escape sequences are what it removes
    const row = terminal.text().split('\u001b[1G').at(-1)!.replace(/\u001b(\[\??\d*[A-Za-z]|[78])/g, '').trimEnd();
    expect(row).toMatch(numbers);
    expect(Array.from(row).length).toBeLessThanOrEqual(59);
  });

  it('drawn on a terminal of 60 columns, a CJK name leaves the row within 60 columns (no wrap to break the redraw)', () => {
    const terminal = Object.assign(fakeTerminal(), { columns: 60 });
    const bar = new ProgressBar(terminal, '北海道札幌市中央区の写真アルバム全集.zip');
    bar.update(event);
    bar.stop();
    // eslint-disable-next-line no-control-regex -- escape sequences are what it removes
    const row = terminal.text().split('\u001b[1G').at(-1)!.replace(/\u001b(\[\??\d*[A-Za-z]|[78])/g, '').trimEnd();
    expect(row).toMatch(numbers);
    expect(Array.from(row).length + (row.match(/[\u3000-\u9fff]/g) ?? []).length).toBeLessThanOrEqual(59);
  });
});

describe('TaskBars on a terminal (session run, watch)', () => {
  const streamsOf = (terminal: ReturnType<typeof fakeTerminal>) => ({ stdout: fakeTerminal(), stderr: terminal });
  const progress = (loaded: number, total: number) => ({ type: 'progress' as const, direction: 'download' as const, loaded, delta: 0, total, percent: Math.floor((100 * loaded) / total), attempt: 1 });
  const drawn = () => new Promise((resolve) => setTimeout(resolve, 300));

  it('stopped under running bars (Ctrl-C): each bar stays as its last state on its own row, the cursor below them, shown', async () => {
    const terminal = fakeTerminal();
    terminal.write('before\n');
    const bars = new TaskBars('bar', streamsOf(terminal));
    bars.update('a', 'a.bin', progress(10, 100));
    bars.update('b', 'b.bin', progress(70, 100));
    await drawn();
    bars.stop();
    const screen = render(terminal.text());
    expect(screen.rows[0]).toBe('before');
    expect(screen.rows[1]).toMatch(/^a\.bin \[.*\] +10% /);
    expect(screen.rows[2]).toMatch(/^b\.bin \[.*\] +70% /);
    expect(screen.rows.slice(3).filter(Boolean)).toEqual([]);
    expect([screen.row, screen.col]).toEqual([3, 0]);
    expect(screen.cursorShown).toBe(true);
    expect(screen.wraps).toBe(true);
  });

  it('a task that ends: its line above the others, and at the end the cursor right below the last line (no blank row)', async () => {
    const terminal = fakeTerminal();
    const bars = new TaskBars('bar', streamsOf(terminal));
    bars.update('a', 'a.bin', progress(10, 100));
    bars.update('b', 'b.bin', progress(20, 100));
    await drawn();
    bars.finish('a', '[a] saved a.bin');
    await drawn();
    bars.finish('b', '[b] saved b.bin');
    bars.stop();
    terminal.write('summary\n');
    const screen = render(terminal.text());
    expect(screen.rows.filter((r, i) => r !== '' || i < screen.row)).toEqual(['[a] saved a.bin', '[b] saved b.bin', 'summary']);
    expect(screen.cursorShown).toBe(true);
  });

  it('a line logged just before the bars stop is not lost', async () => {
    const terminal = fakeTerminal();
    const bars = new TaskBars('bar', streamsOf(terminal));
    bars.update('a', 'a.bin', progress(10, 100));
    await drawn();
    bars.finish('a', '[a] saved a.bin');
    bars.log('the run stopped');
    bars.stop();
    const screen = render(terminal.text());
    expect(screen.rows.filter(Boolean)).toEqual(['[a] saved a.bin', 'the run stopped']);
    expect([screen.row, screen.col]).toEqual([2, 0]);
  });

  it('a process that exits while bars are drawn (a second Ctrl-C) shows the cursor and wraps lines again', async () => {
    const terminal = fakeTerminal();
    const bars = new TaskBars('bar', streamsOf(terminal));
    const before = process.listeners('exit');
    bars.update('a', 'a.bin', progress(10, 100));
    try {
      const added = process.listeners('exit').filter((l) => !before.includes(l));
      expect(added).toHaveLength(1);
      added[0]!.call(process, 130);
      expect(terminal.text().endsWith(RESTORE_TERMINAL)).toBe(true);
    } finally {
      bars.stop();
    }
    expect(process.listeners('exit')).toEqual(before);
  });
});
