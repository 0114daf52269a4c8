// rxtransfer, as a user would write it: `download(url, { to })` and
// `upload(url, fileBody(path), { method: 'PUT' })`, with progress on (every event is counted).
// `--progress off` is what a user who wants no progress writes: `resultOf(transfer)` (the core
// still counts every chunk — it checks Content-Length with it — and throttles as usual, but
// no subscriber sees an event). Small requests: `resultOf(download(url, { responseType:
// 'arraybuffer' }))`, 16 at a time. `--durable off`: `download(url, { to, durable: false })`, the
// same atomic rename without the fsync before it (none of the peers syncs its file).
// `files` (issue 6, scenario 7): `resultOf(download(url, { to }))` per file, `inflight` at a time;
// with `--session` the same downloads as the tasks of a TransferSession, see sessionFiles().
// The runner bundles this file with the library's TypeScript sources (build-client.mjs), or
// runs it against dist/ with `--lib dist`.
import { download, upload, resultOf, TransferSession, JournalStoreHandle } from 'rxtransfer';
import { fileBody, nodeJournalFile, sessionDirectory } from 'rxtransfer/node';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { clientArgs, finish, fail, manySmall } from './common.mjs';

const args = clientArgs();

/**
 * The `files` downloads as session tasks, added one by one as the docs' example does, each
 * completion acknowledged (as an app must, or it is delivered again on the next open), then the
 * session closed. Resolves with [bytes, {journal}].
 *
 * The store is the file store's journal — `nodeJournalFile` under `JournalStoreHandle`, as
 * `fileSessionStore` builds it, in <dir>/sessions — with its two writes counted, because the
 * journal's size at the end says nothing of what compaction rewrote. Left out: the store's lock
 * file (not exported; one small fsynced file per open, not journal). Counted (`journal`):
 * `written`, the UTF-8 bytes handed to append and to compaction's rewrite; `appends`, each one
 * a write + fdatasync (concurrent changes share one); `records`, the lines appended;
 * `compactions`, each a write + fsync + rename + directory fsync; `stored`, the bytes of the
 * files left in the session's directory after close.
 */
async function sessionFiles() {
  const journal = { written: 0, appends: 0, records: 0, compactions: 0, stored: 0 };
  const directory = join(args.file, 'sessions');
  const store = {
    name: 'file, counted',
    async open(id) {
      const dir = sessionDirectory(directory, id);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const file = nodeJournalFile(join(dir, 'journal.log'));
      const counted = {
        read: () => file.read(),
        append(text) {
          journal.written += Buffer.byteLength(text);
          journal.appends++;
          journal.records += text.split('\n').length - 1;
          return file.append(text);
        },
        replace(text) {
          journal.written += Buffer.byteLength(text);
          journal.compactions++;
          return file.replace(text);
        },
      };
      return JournalStoreHandle.open(counted, async () => undefined);
    },
  };
  const session = await TransferSession.open({ id: 'bench', store, maxConcurrent: args.inflight, maxPerHost: args.inflight });
  let bytes = 0;
  const acked = new Promise((resolve, reject) => {
    let left = args.count;
    session.completions$.subscribe((c) => {
      if (c.state !== 'completed') return reject(new Error(`task ${c.taskId} ended ${c.state}: ${c.error?.message}`));
      bytes += c.result.size;
      c.ack().then(() => --left === 0 && resolve(), reject);
    });
  });
  for (let i = 0; i < args.count; i++) await session.download(args.url, { to: join(args.file, `${i}.bin`), id: String(i) });
  await acked;
  await session.close();
  const dir = sessionDirectory(directory, 'bench');
  for (const name of await readdir(dir)) journal.stored += (await stat(join(dir, name))).size;
  return [bytes, { journal }];
}

if (args.mode === 'small') {
  manySmall(args, async () => (await resultOf(download(args.url, { responseType: 'arraybuffer' }))).data.byteLength).then((bytes) => finish(args, bytes), fail);
} else if (args.mode === 'files') {
  const plain = () => manySmall(args, async (i) => (await resultOf(download(args.url, { to: join(args.file, `${i}.bin`) }))).size).then((bytes) => [bytes]);
  (args.session ? sessionFiles() : plain()).then(([bytes, extra]) => finish(args, bytes, -1, extra), fail);
} else {
  const transfer = args.mode === 'download' ? download(args.url, { to: args.file, durable: args.durable }) : upload(args.url, fileBody(args.file), { method: 'PUT', responseType: 'json' });
  const bytesOf = (result) => (args.mode === 'download' ? result.size : result.data.received);
  if (!args.progress) {
    resultOf(transfer).then((result) => finish(args, bytesOf(result)), fail);
  } else {
    let events = 0;
    let done;
    transfer.subscribe({
      next(event) {
        if (event.type === 'progress') events++;
        else done = event.result;
      },
      error: fail,
      complete() {
        finish(args, bytesOf(done), events);
      },
    });
  }
}
