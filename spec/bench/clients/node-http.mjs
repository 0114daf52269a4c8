// Peer: plain node:http, as a user would write it: the response piped to a file, the file
// piped to the request.
import http from 'node:http';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { clientArgs, finish, fail } from './common.mjs';

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

if (args.mode === 'download') download();
else upload();
