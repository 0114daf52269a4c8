// Peer: got as a user would write it: `got.stream()` piped to a file, a file stream as the
// body of `got.put()` (streamed, not buffered). Small requests are not measured with got.
import got from 'got';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { clientArgs, finish, fail } from './common.mjs';

const args = clientArgs();

async function download() {
  let bytes = 0;
  const body = got.stream(args.url);
  body.on('data', (chunk) => (bytes += chunk.length));
  await pipeline(body, createWriteStream(args.file));
  return bytes;
}

async function upload() {
  const size = statSync(args.file).size;
  const answer = await got.put(args.url, { body: createReadStream(args.file), headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) } }).json();
  return answer.received;
}

const run = { download, upload }[args.mode];
if (!run) fail(new Error(`got client: no ${args.mode} mode`));
run().then((bytes) => finish(args, bytes), fail);
