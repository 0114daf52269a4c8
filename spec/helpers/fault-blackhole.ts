import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

/**
 * A loopback port where TCP connects hang, for a genuine connect timeout without any external
 * address: a worker thread listens with a backlog of 1 and then blocks its event loop, so the
 * kernel's accept queue fills with a few filler connections and every further SYN is dropped
 * (Linux, `tcp_abort_on_overflow = 0`). The client sits in SYN_SENT until it gives up.
 */
export interface Blackhole {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const flag = new Int32Array(workerData);
const server = net.createServer(() => undefined);
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  // Block the event loop: nothing is accepted until the main thread raises the flag.
  while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0, 50);
  server.close();
  server.unref();
});
`;

export async function startBlackhole(): Promise<Blackhole> {
  const shared = new SharedArrayBuffer(4);
  const flag = new Int32Array(shared);
  const worker = new Worker(WORKER, { eval: true, workerData: shared });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  // Fill the accept queue (backlog + 1 on Linux); a few more cannot hurt, they wait in SYN_SENT.
  const fillers: Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    fillers.push(socket);
  }
  await new Promise((r) => setTimeout(r, 100));
  return {
    port,
    url: `http://127.0.0.1:${port}/never`,
    close: async () => {
      for (const s of fillers) s.destroy();
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      await worker.terminate();
    },
  };
}
