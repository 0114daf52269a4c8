// Peer: axios as a user would write it: `responseType: 'stream'` piped to a file; an upload
// from a file stream with `maxRedirects: 0` (with redirects on, axios' follow-redirects layer
// keeps every chunk of the body in memory); small requests as `axios.get(url)` with the
// defaults (on Node 20 the global agent keeps connections alive).
import axios from 'axios';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { clientArgs, finish, fail, manySmall } from './common.mjs';

// `--load-peers` (a control, not a peer): rxjs loaded first and never used, so that the process
// holds both of rxtransfer's dependencies. What this costs over plain axios is what rxjs' weight
// does to start-up and to V8's collector (docs/performance.md, "where the time goes").
if (process.argv.includes('--load-peers')) await import('rxjs');
const args = clientArgs();

async function download() {
  const response = await axios.get(args.url, { responseType: 'stream' });
  let bytes = 0;
  response.data.on('data', (chunk) => (bytes += chunk.length));
  await pipeline(response.data, createWriteStream(args.file));
  return bytes;
}

async function upload() {
  const size = statSync(args.file).size;
  const response = await axios.put(args.url, createReadStream(args.file), {
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': size },
    maxRedirects: 0,
    maxBodyLength: Infinity,
  });
  return response.data.received;
}

function small() {
  return manySmall(args, async () => (await axios.get(args.url, { responseType: 'arraybuffer' })).data.byteLength);
}

({ download, upload, small })[args.mode]().then((bytes) => finish(args, bytes), fail);
