import type { DownloadResult, Transfer, UploadResult } from './events.js';
import type { DownloadOptions, UploadOptions } from './options.js';
import type { ResponseType, ResponseTypeMap } from './sink.js';
import type { UploadBody } from './body.js';
import type { Platform } from './platform.js';
import { createTransfer } from './transfer.js';

/** `download()` as typed for callers: the result's `data` follows `responseType`, or is `undefined` with `to`. */
export interface DownloadFunction {
  (url: string | URL, options: DownloadOptions & { to: string }): Transfer<DownloadResult<undefined>>;
  <K extends ResponseType = 'arraybuffer'>(url: string | URL, options?: DownloadOptions & { responseType?: K; to?: undefined }): Transfer<DownloadResult<ResponseTypeMap[K]>>;
  /** Options typed only as `DownloadOptions`: whether `to` is set is not known, nor the data's type. */
  (url: string | URL, options?: DownloadOptions): Transfer<DownloadResult<unknown>>;
}

/** `upload()` as typed for callers: the response's `data` follows `responseType` (default text). */
export interface UploadFunction {
  <K extends ResponseType = 'text'>(url: string | URL, body: UploadBody, options?: UploadOptions & { responseType?: K }): Transfer<UploadResult<ResponseTypeMap[K]>>;
}

/** Builds `download` and `upload` over a platform. Each entry point does this once. */
export function createTransferApi(platform: Platform): { download: DownloadFunction; upload: UploadFunction } {
  const download = ((url: unknown, options?: DownloadOptions) => createTransfer(platform, 'download', url, undefined, options)) as DownloadFunction;
  const upload = ((url: unknown, body: unknown, options?: UploadOptions) => createTransfer(platform, 'upload', url, body, options)) as UploadFunction;
  return { download, upload };
}
