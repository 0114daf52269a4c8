// rxtransfer, as a user would write it: `download(url, { to })` and
// `upload(url, fileBody(path), { method: 'PUT' })`, with progress on (every event is counted).
// The runner bundles this file with the library's TypeScript sources (build-client.mjs), or
// runs it against dist/ with `--lib dist`.
import { download, upload } from 'rxtransfer';
import { fileBody } from 'rxtransfer/node';
import { clientArgs, finish, fail } from './common.mjs';

const args = clientArgs();
let events = 0;
let done;
const transfer = args.mode === 'download' ? download(args.url, { to: args.file }) : upload(args.url, fileBody(args.file), { method: 'PUT', responseType: 'json' });
transfer.subscribe({
  next(event) {
    if (event.type === 'progress') events++;
    else done = event.result;
  },
  error: fail,
  complete() {
    finish(args, args.mode === 'download' ? done.size : done.data.received, events);
  },
});
