// Peer: plain node:http, as a user would write it: the response piped to a file, the file
// piped to the request; small requests on a keep-alive agent (Node 20's global agent keeps
// connections alive; an explicit agent makes that independent of the Node version).
import http from 'node:http';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { clientArgs, finish, fail, manySmall } from './common.mjs';

// `--load-peers` (a control, not a peer): rxjs and axios loaded, as rxtransfer's client has them,
// and never used. What this costs over plain node:http is what any client of those two packages
// pays in start-up and in V8's collector (docs/performance.md, "where the time goes").
if (process.argv.includes('--load-peers')) await Promise.all([import('rxjs'), import('axios')]);
const args = clientArgs();

function download() {
  http
    .get(args.url, (res) => {
      if (res.statusCode !== 200) return fail(new Error(`HTTP ${res.statusCode}`));
      let bytes = 0;
      res.on('data', (chunk) => (bytes += chunk.length));
      pipeline(res, createWriteStream(args.file)).then(() => finish(args, bytes), fail);
    })
    .on('error', fail);
}

function upload() {
  const size = statSync(args.file).size;
  const req = http.request(args.url, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': size } }, (res) => {
    let text = '';
    res.setEncoding('utf8').on('data', (s) => (text += s));
    res.on('end', () => (res.statusCode === 200 ? finish(args, JSON.parse(text).received) : fail(new Error(`HTTP ${res.statusCode}`))));
  });
  req.on('error', fail);
  createReadStream(args.file).pipe(req);
}

function small() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: args.inflight });
  const one = () =>
    new Promise((resolve, reject) => {
      http
        .get(args.url, { agent }, (res) => {
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
          const parts = [];
          res.on('data', (chunk) => parts.push(chunk));
          res.on('end', () => resolve(Buffer.concat(parts).length));
          res.on('error', reject);
        })
        .on('error', reject);
    });
  manySmall(args, one).then((bytes) => finish(args, bytes), fail);
}

({ download, upload, small })[args.mode]();
