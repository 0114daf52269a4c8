import type { Observable } from 'rxjs';

/** Which way bytes are moving. */
export type TransferDirection = 'upload' | 'download';

/**
 * A progress report. Mirrors NSURLSession's `didWriteData`: `delta` is `bytesWritten`,
 * `loaded` is `totalBytesWritten`, `total` is `totalBytesExpectedToWrite`.
 *
 * @example
 * ```ts
 * import { download } from 'rxtransfer';
 * download('https://example.com/a.bin').subscribe((e) => {
 *   if (e.type === 'progress') console.log(e.direction, e.loaded, e.total, e.percent);
 * });
 * ```
 */
export interface TransferProgress {
  readonly type: 'progress';
  readonly direction: TransferDirection;
  /** Bytes so far in this direction; never decreases, across retries and redirects too. */
  readonly loaded: number;
  /** Bytes since the previous progress event of the same direction. */
  readonly delta: number;
  /** Expected bytes, when known. */
  readonly total?: number;
  /** Integer 0..100, present exactly when `total` is known. */
  readonly percent?: number;
  /** Smoothed transfer rate in bytes per second, once it can be measured. */
  readonly bytesPerSecond?: number;
  /** 1 for the first try, +1 for each retry. */
  readonly attempt: number;
}

/** The single successful end of a transfer; always followed by `complete`. */
export interface TransferDone<R> {
  readonly type: 'done';
  readonly result: R;
}

/** What a transfer emits: progress, then exactly one `done` (or an error). */
export type TransferEvent<R> = TransferProgress | TransferDone<R>;

/**
 * A transfer: a cold Observable. Each subscription is one request; unsubscribing aborts it.
 * @see docs/transfers.md for the grammar G1–G12.
 */
export type Transfer<R> = Observable<TransferEvent<R>>;

/** Response headers, names in lower case. */
export type ResponseHeaders = Readonly<Record<string, string>>;

/** What a successful download resolves to. `T` depends on `responseType`, or is `undefined` with `to`. */
export interface DownloadResult<T = ArrayBuffer> {
  /** The final URL, after redirects, without credentials. */
  readonly url: string;
  /** The final response's status (`206` for a resumed download, `304` for a file kept as it is). */
  readonly status: number;
  /** The final response's headers, names in lower case. */
  readonly headers: ResponseHeaders;
  /** Bytes of body received (after decoding), including bytes resumed from disk. */
  readonly size: number;
  /** The body in memory, per `responseType`; `undefined` when streamed to a file with `to`. */
  readonly data: T;
  /** With `to`: the file written. */
  readonly path?: string;
  /** With `integrity`: the digest that matched, in SRI form (`sha256-…`). */
  readonly integrity?: string;
}

/** What a successful upload resolves to. */
export interface UploadResult<T = string> {
  /** The final URL, after redirects, without credentials. */
  readonly url: string;
  /** The response's status. */
  readonly status: number;
  /** The response's headers, names in lower case. */
  readonly headers: ResponseHeaders;
  /** Bytes of request body sent (fewer than the body when the server answered before taking all of it, where the transport can tell; after a redirect to a GET, those of the request it answered). */
  readonly sent: number;
  /** The response body, per `responseType` (default text). */
  readonly data: T;
}

/**
 * Narrows an event to progress.
 *
 * @example
 * ```ts
 * import { filter } from 'rxjs';
 * import { download, isProgress } from 'rxtransfer';
 * download('https://example.com/a.bin').pipe(filter(isProgress)).subscribe((p) => console.log(p.percent));
 * ```
 */
export function isProgress<R>(event: TransferEvent<R>): event is TransferProgress {
  return event.type === 'progress';
}

/**
 * Narrows an event to the final `done`: the way to await a transfer's result.
 *
 * @example
 * ```ts
 * import { filter, lastValueFrom } from 'rxjs';
 * import { download, isDone } from 'rxtransfer';
 * const { result } = await lastValueFrom(download('https://example.com/a.json', { responseType: 'json' }).pipe(filter(isDone)));
 * console.log(result.status, result.data);
 * ```
 */
export function isDone<R>(event: TransferEvent<R>): event is TransferDone<R> {
  return event.type === 'done';
}
