import type { Transport, TransportResponse } from 'rxtransfer';

/** A transport whose body yields one chunk and then never ends, and which ignores the abort signal. */
export function deafTransport(): Transport {
  return {
    name: 'deaf',
    followsRedirects: false,
    streamsBodies: true,
    async send(): Promise<TransportResponse> {
      return {
        status: 200,
        statusText: 'OK',
        headers: { 'content-length': '10' },
        url: 'http://127.0.0.1/x',
        decoded: false,
        body: (async function* () {
          yield new Uint8Array(1);
          await new Promise<never>(() => undefined);
        })(),
      };
    },
  };
}
