/**
 * Type tests (E2 and friends). This file is not run: it is compiled by `tsc` (npm run typecheck)
 * and by spec/eap/eap-types.spec.ts, which fails when any line below stops type-checking as
 * annotated. Each `@ts-expect-error` must be an error; each other line must not be.
 */
import { Observable, fromEvent } from 'rxjs';
import {
  AsyncCompletedEventArgs,
  fromEap,
  toEap,
  type DownloadResult,
  type Transfer,
  type TransferEvent,
  type TransferProgressChangedEventArgs,
} from '../../lib/index.js';

interface Options {
  readonly tries?: number;
}
declare function download(url: string, options?: Options): Transfer<DownloadResult<string>>;
declare function upload(url: string, body: Uint8Array): Transfer<{ readonly sent: number }>;

const client = toEap({ download, upload });

// E2: the Completed args are typed by the operation's result, no cast.
client.on('downloadCompleted', (e) => {
  const data: string = e.result.data;
  const status: number = e.result.status;
  // @ts-expect-error -- the result of download is a DownloadResult<string>, not a number
  const wrong: number = e.result;
  void [data, status, wrong];
});
client.on('uploadCompleted', (e) => {
  const sent: number = e.result.sent;
  // @ts-expect-error -- an upload result has no data
  void e.result.data;
  void sent;
});
client.on('progressChanged', (e: TransferProgressChangedEventArgs) => void e.progressPercentage);
client.on('uploadProgressChanged', (e) => {
  const percentage: number = e.progressPercentage;
  const loaded: number = e.bytesTransferred;
  void [percentage, loaded];
});
// @ts-expect-error -- no such event
client.on('downloadFinished', () => undefined);

// <name>Async: the factory's arguments, optional ones as positions, then the userState.
client.downloadAsync('https://example.com/a', undefined, 'job-1');
client.downloadAsync('https://example.com/a', { tries: 2 });
client.uploadAsync('https://example.com/u', new Uint8Array(3), { any: 'state' });
// @ts-expect-error -- the url must be a string
client.downloadAsync(42, undefined, 'job-1');
// @ts-expect-error -- missing the body
client.uploadAsync('https://example.com/u');
// @ts-expect-error -- there is no such operation
client.deleteAsync('x');
client.cancelAsync('job-1');
client.cancelAsync();

// E7: isBusy exists in single mode only.
const single = toEap({ download }, { mode: 'single' });
const busy: boolean = single.isBusy;
void busy;
// @ts-expect-error -- multiple-invocation components have no isBusy
void client.isBusy;

// The args class itself keeps the type.
const args = AsyncCompletedEventArgs.success({ size: 1 }, 'x');
const size: number = args.result.size;
void size;

// fromEap infers the factory's arguments and result from a toEap component.
const download$ = fromEap(client, 'download');
const t: Transfer<DownloadResult<string>> = download$('https://example.com/a');
// @ts-expect-error -- arguments are checked
download$(1);
void t;
// … and takes explicit types for any other component.
declare const legacy: { cancelAsync(state?: unknown): void; on(n: string, h: (e: unknown) => void): void; off(n: string, h: (e: unknown) => void): void };
const legacy$: (url: string) => Transfer<number> = fromEap<number, [string]>(legacy, 'fetch');
void legacy$;

// The event union narrows by type.
declare const event: TransferEvent<DownloadResult<string>>;
if (event.type === 'done') {
  const data: string = event.result.data;
  void data;
} else {
  const loaded: number = event.loaded;
  // @ts-expect-error -- progress events have no result
  void event.result;
  void loaded;
}

// RxJS fromEvent accepts a component.
const completed$: Observable<AsyncCompletedEventArgs<DownloadResult<string>>> = fromEvent<AsyncCompletedEventArgs<DownloadResult<string>>>(
  client,
  'downloadCompleted',
);
void completed$;
