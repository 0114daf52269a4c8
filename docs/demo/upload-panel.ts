/**
 * The upload card: a file picked or dropped is sent with `upload()` (PUT, the file as a Blob),
 * with upload progress; Cancel unsubscribes, which aborts the request. The server answers with
 * what it received (`{ id, received, sha256 }`).
 */
import { upload } from 'rxtransfer';
import type { Subscription } from 'rxjs';
import { apiUrl, byId, Card, formatBytes, progressText, transferId } from './ui.js';

interface UploadAnswer {
  readonly id: string;
  readonly received: number;
  readonly sha256: string;
}

export function setUpUploadPanel(): void {
  const card = new Card('upload');
  const input = byId<HTMLInputElement>('upload-file');
  const zone = byId('drop-zone');
  const bar = byId<HTMLProgressElement>('upload-bar');
  const numbers = byId('upload-numbers');
  const cancel = byId<HTMLButtonElement>('upload-cancel');
  let running: Subscription | undefined;

  const start = (file: File) => {
    running?.unsubscribe();
    const id = transferId('upload');
    card.data('uploadId', id);
    card.data('size', file.size);
    card.set('running', `Sending ${file.name || 'the file'} (${formatBytes(file.size)})…`);
    bar.value = 0;
    numbers.textContent = '';
    cancel.disabled = false;
    let sent = 0;
    running = upload(apiUrl(`/api/upload?id=${encodeURIComponent(id)}&delay=2`), file, { method: 'PUT', responseType: 'json' }).subscribe({
      next: (e) => {
        if (e.type === 'progress') {
          if (e.direction !== 'upload') return;
          sent = e.loaded;
          bar.value = e.percent ?? 0;
          numbers.textContent = progressText(e);
        } else {
          const answer = e.result.data as UploadAnswer;
          bar.value = 100;
          card.set('done', `HTTP ${e.result.status}: the server received ${formatBytes(answer.received)} (sha256 ${answer.sha256.slice(0, 12)}…)`);
        }
      },
      error: (error: Error) => {
        cancel.disabled = true;
        card.set('failed', `${error.name}: ${error.message}`);
      },
      complete: () => {
        cancel.disabled = true;
      },
    });
    cancel.onclick = () => {
      running?.unsubscribe();
      cancel.disabled = true;
      card.set('cancelled', `Cancelled after ${formatBytes(sent)}: unsubscribing aborted the request.`);
    };
  };

  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (file) start(file);
    input.value = '';
  });
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const file = e.dataTransfer?.files[0];
    if (file) start(file);
  });
}
