import type { Platform } from '../core/platform.js';
import { axiosXhrTransport } from './axios-xhr-transport.js';
import { webHasher } from './web-hasher.js';

/** The browser (and any runtime without a file system): axios over XMLHttpRequest, WebCrypto digests. */
export const browserPlatform: Platform = {
  name: 'the browser',
  transport: (axios) => axiosXhrTransport(axios),
  createHasher: webHasher,
};
