import type { Platform } from '../core/platform.js';
import { axiosHttpTransport } from './axios-http-transport.js';
import { nodeHasher } from './node-hasher.js';
import { openFileSink } from './file-sink.js';

/** Node: axios over node:http, node:crypto digests, files on disk. */
export const nodePlatform: Platform = {
  name: 'Node',
  transport: (axios) => axiosHttpTransport(axios),
  createHasher: nodeHasher,
  openFileSink,
};
