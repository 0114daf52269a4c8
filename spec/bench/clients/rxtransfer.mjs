// rxtransfer, as a user would write it: `download(url, { to })` and
// `upload(url, fileBody(path), { method: 'PUT' })`, with progress on (every event is counted).
// `--progress off` is what a user who wants no progress writes: `resultOf(transfer)` (the core
// still counts every chunk — it checks Content-Length with it — and throttles as usual, but
// no subscriber sees an event). Small requests: `resultOf(download(url, { responseType:
// 'arraybuffer' }))`, 16 at a time.
// The runner bundles this file with the library's TypeScript sources (build-client.mjs), or
// runs it against dist/ with `--lib dist`.
import { download, upload, resultOf } from 'rxtransfer';
import { fileBody } from 'rxtransfer/node';
import { clientArgs, finish, fail, manySmall } from './common.mjs';

const args = clientArgs();

if (args.mode === 'small') {
  manySmall(args, async () => (await resultOf(download(args.url, { responseType: 'arraybuffer' }))).data.byteLength).then((bytes) => finish(args, bytes), fail);
} else {
  const transfer = args.mode === 'download' ? download(args.url, { to: args.file }) : upload(args.url, fileBody(args.file), { method: 'PUT', responseType: 'json' });
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
