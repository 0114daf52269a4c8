/**
 * The download card: `download()` of N pattern bytes as an ArrayBuffer, with a progress bar;
 * Cancel unsubscribes (the server sees the connection close). The body is checked byte by byte
 * and its sha256 compared with the server's `x-sha256` header.
 */
import { download } from 'rxtransfer';
import type { Subscription } from 'rxjs';
import { apiUrl, byId, Card, formatBytes, progressText, transferId } from './ui.js';
import { isPattern, sha256Hex } from './verify.js';

export function setUpDownloadPanel(): void {
  const card = new Card('download');
  const size = byId<HTMLSelectElement>('download-size');
  const startButton = byId<HTMLButtonElement>('download-start');
  const cancel = byId<HTMLButtonElement>('download-cancel');
  const bar = byId<HTMLProgressElement>('download-bar');
  const numbers = byId('download-numbers');
  let running: Subscription | undefined;
  let loaded = 0;
  /** The download the card shows: a check of an earlier one that ends after Start was clicked again says nothing. */
  let current = '';

  const finish = () => {
    startButton.disabled = false;
    cancel.disabled = true;
  };

  startButton.addEventListener('click', () => {
    running?.unsubscribe();
    const id = transferId('download');
    current = id;
    const bytes = Number(size.value);
    card.data('downloadId', id);
    card.data('size', bytes);
    card.data('verified', false);
    card.set('running', `Downloading ${formatBytes(bytes)}…`);
    bar.value = 0;
    numbers.textContent = '';
    loaded = 0;
    startButton.disabled = true;
    cancel.disabled = false;
    running = download(apiUrl(`/api/bytes?size=${bytes}&id=${encodeURIComponent(id)}&delay=8`), { responseType: 'arraybuffer' }).subscribe({
      next: (e) => {
        if (e.type === 'progress') {
          loaded = e.loaded;
          bar.value = e.percent ?? 0;
          numbers.textContent = progressText(e);
          return;
        }
        bar.value = 100;
        const data = e.result.data;
        const expected = e.result.headers['x-sha256'];
        // Checked after `complete` has let Start be clicked again: a newer download owns the card then.
        sha256Hex(data).then(
          (digest) => {
            if (current !== id) return;
            const ok = data.byteLength === bytes && isPattern(new Uint8Array(data)) && digest === expected;
            card.data('sha256', digest);
            card.data('verified', ok);
            card.set(ok ? 'done' : 'failed', `${formatBytes(data.byteLength)} received; ${ok ? 'every byte checked, sha256 matches the server' : 'the bytes DIFFER from the server'}: ${digest.slice(0, 16)}…`);
          },
          (error: Error) => {
            if (current === id) card.set('failed', `${formatBytes(data.byteLength)} received, but they could not be checked: ${error.name}: ${error.message}`);
          },
        );
      },
      error: (error: Error) => {
        finish();
        card.set('failed', `${error.name}: ${error.message}`);
      },
      complete: finish,
    });
  });

  cancel.addEventListener('click', () => {
    running?.unsubscribe();
    finish();
    card.set('cancelled', `Cancelled after ${formatBytes(loaded)}: unsubscribing aborted the request.`);
  });
}
