// Peer: undici's `request()` as a user would write it: the body piped to a file; small
// requests on undici's global dispatcher (a keep-alive pool per origin).
import { request } from 'undici';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { clientArgs, finish, fail, manySmall } from './common.mjs';

const args = clientArgs();

async function download() {
  const { statusCode, body } = await request(args.url);
  if (statusCode !== 200) throw new Error(`HTTP ${statusCode}`);
  let bytes = 0;
  body.on('data', (chunk) => (bytes += chunk.length));
  await pipeline(body, createWriteStream(args.file));
  return bytes;
}

function small() {
  return manySmall(args, async () => {
    const { statusCode, body } = await request(args.url);
    if (statusCode !== 200) throw new Error(`HTTP ${statusCode}`);
    return (await body.arrayBuffer()).byteLength;
  });
}

const run = { download, small }[args.mode];
if (!run) fail(new Error(`undici client: no ${args.mode} mode`));
run().then((bytes) => finish(args, bytes), fail);
