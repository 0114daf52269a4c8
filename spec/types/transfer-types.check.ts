// Compiled (never run) by transfer-types.spec.ts: every line must type-check, and every
// expected-error directive must really be an error, so a type that gets looser fails the test.
import { download, upload, type TransferEvent, type DownloadResult, type UploadResult } from 'rxtransfer';

declare const event: TransferEvent<DownloadResult<string>>;
if (event.type === 'progress') {
  const loaded: number = event.loaded;
  const direction: 'upload' | 'download' = event.direction;
  const percent: number | undefined = event.percent;
  void [loaded, direction, percent];
  // @ts-expect-error progress has no result
  void event.result;
} else {
  const text: string = event.result.data;
  void text;
  // @ts-expect-error done has no loaded
  void event.loaded;
}

download('http://127.0.0.1/x', { responseType: 'text' }).subscribe((e) => {
  if (e.type === 'done') {
    const text: string = e.result.data;
    void text;
  }
});
download('http://127.0.0.1/x').subscribe((e) => {
  if (e.type === 'done') {
    const buffer: ArrayBuffer = e.result.data;
    void buffer;
    // @ts-expect-error the default result is an ArrayBuffer, not a string
    const wrong: string = e.result.data;
    void wrong;
  }
});
download('http://127.0.0.1/x', { to: '/tmp/x' }).subscribe((e) => {
  if (e.type === 'done') {
    const nothing: undefined = e.result.data;
    const path: string | undefined = e.result.path;
    void [nothing, path];
  }
});
download('http://127.0.0.1/x', { responseType: 'blob' }).subscribe((e) => {
  if (e.type === 'done') {
    const blob: Blob = e.result.data;
    void blob;
  }
});
upload('http://127.0.0.1/x', 'body').subscribe((e) => {
  if (e.type === 'done') {
    const r: UploadResult<string> = e.result;
    const sent: number = r.sent;
    void sent;
  }
});
upload('http://127.0.0.1/x', new Uint8Array(1), { responseType: 'json' }).subscribe((e) => {
  if (e.type === 'done') {
    const value: unknown = e.result.data;
    void value;
  }
});
// @ts-expect-error a number is not a body
upload('http://127.0.0.1/x', 42);
// @ts-expect-error unknown responseType
download('http://127.0.0.1/x', { responseType: 'xml' });
