import { EventEmitter } from 'node:events';
import { listenForInterrupt, tolerateClosedOutput } from '../../lib/cli/interrupt';

/** The signal and stdout handling of `listenForInterrupt`, with `process.exit` stubbed. */
describe('listenForInterrupt', () => {
  const epipe = () => Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
  let exit: jest.SpyInstance;
  beforeEach(() => {
    exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
  });
  afterEach(() => exit.mockRestore());

  it('stdout closed by its reader aborts the run with 141; a stream already destroyed changes nothing', () => {
    const stdout = new EventEmitter();
    const interrupt = listenForInterrupt(stdout);
    try {
      stdout.emit('error', Object.assign(new Error('write after end'), { code: 'ERR_STREAM_DESTROYED' }));
      expect(interrupt.signal.aborted).toBe(false);
      stdout.emit('error', epipe());
      expect([interrupt.signal.aborted, interrupt.received, interrupt.exitCode]).toEqual([true, 'SIGPIPE', 141]);
      expect(exit).not.toHaveBeenCalled();
    } finally {
      interrupt.dispose();
    }
  });

  it('another write error on stdout (a full disk under `> file`) aborts the run with 1, the error kept', () => {
    const stdout = new EventEmitter();
    const interrupt = listenForInterrupt(stdout);
    try {
      const enospc = Object.assign(new Error('disk full'), { code: 'ENOSPC' });
      stdout.emit('error', enospc);
      expect([interrupt.signal.aborted, interrupt.received, interrupt.exitCode, interrupt.outputError]).toEqual([true, 'output', 1, enospc]);
      stdout.emit('error', epipe()); // the first one decides
      expect(interrupt.received).toBe('output');
    } finally {
      interrupt.dispose();
    }
  });

  it('tolerateClosedOutput: no write error escapes as an uncaught exception; the first one but EPIPE is kept', () => {
    const out = new EventEmitter();
    const state = tolerateClosedOutput(out);
    expect(() => out.emit('error', epipe())).not.toThrow();
    expect(state.failed).toBeUndefined();
    const enospc = Object.assign(new Error('disk full'), { code: 'ENOSPC' });
    expect(() => out.emit('error', enospc)).not.toThrow();
    expect(() => out.emit('error', Object.assign(new Error('io'), { code: 'EIO' }))).not.toThrow();
    expect(state.failed).toBe(enospc);
  });

  it('after stdout closed, Ctrl-C is still heard: the first one gives 130, a second exits at once', () => {
    const stdout = new EventEmitter();
    const interrupt = listenForInterrupt(stdout);
    try {
      stdout.emit('error', epipe());
      process.emit('SIGINT' as never);
      expect([interrupt.received, interrupt.exitCode]).toEqual(['SIGINT', 130]);
      expect(exit).not.toHaveBeenCalled();
      process.emit('SIGINT' as never);
      expect(exit).toHaveBeenCalledWith(130);
    } finally {
      interrupt.dispose();
    }
  });

  it('SIGHUP (the terminal closed) ends the run as SIGTERM does, with 129; a second one exits at once', () => {
    const interrupt = listenForInterrupt(new EventEmitter());
    try {
      process.emit('SIGHUP' as never);
      expect([interrupt.signal.aborted, interrupt.received, interrupt.exitCode]).toEqual([true, 'SIGHUP', 129]);
      expect(exit).not.toHaveBeenCalled();
      process.emit('SIGHUP' as never);
      expect(exit).toHaveBeenCalledWith(129);
    } finally {
      interrupt.dispose();
    }
  });

  it('dispose removes every handler', () => {
    const stdout = new EventEmitter();
    const interrupt = listenForInterrupt(stdout);
    interrupt.dispose();
    expect(stdout.listenerCount('error')).toBe(0);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) expect(process.listenerCount(signal)).toBe(0);
    stdout.on('error', () => undefined); // the emit below must not throw for want of a listener
    stdout.emit('error', epipe());
    expect(interrupt.signal.aborted).toBe(false);
  });
});
