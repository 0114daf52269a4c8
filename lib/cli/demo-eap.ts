/**
 * Step 5 of `rxtransfer demo`: a transfer as an EAP component. `toEap({ download })` gives
 * `downloadAsync(url, userState)`, `downloadProgressChanged` and `downloadCompleted` events and
 * `cancelAsync(userState)`; each event is printed as it arrives.
 */
import { download, toEap, type AsyncCompletedEventArgs, type DownloadResult } from '../index.node.js';
import type { StepOutcome } from './demo-display.js';
import { stepLabel } from './demo-display.js';
import { formatBytes } from './format.js';
import { MiB, step, STEP_TIMEOUT, type DemoContext } from './demo-steps.js';

export function eapStep(ctx: DemoContext): Promise<StepOutcome> {
  return step('eap', async () => {
    const size = 3 * MiB;
    const client = toEap({
      download: (url: string) => download(url, { responseType: 'arraybuffer', progressInterval: 100, timeout: STEP_TIMEOUT }),
    });
    const say = (text: string) => ctx.out.write(`${stepLabel('eap')} ${text}\n`);
    let progressEvents = 0;
    let lastPercent = -1;
    let monotonic = true;
    let userStates = true;
    client.on('downloadProgressChanged', (e) => {
      progressEvents++;
      if (e.userState !== 'report') userStates = false;
      if (e.progressPercentage < lastPercent) monotonic = false;
      lastPercent = e.progressPercentage;
      say(`downloadProgressChanged  ${String(e.progressPercentage).padStart(3)}%  ${formatBytes(e.bytesTransferred)}/${formatBytes(e.totalBytes ?? 0)}  userState=${String(e.userState)}`);
    });
    const completed = new Promise<AsyncCompletedEventArgs<DownloadResult<ArrayBuffer>>>((resolve) => {
      client.on('downloadCompleted', (e) => resolve(e as AsyncCompletedEventArgs<DownloadResult<ArrayBuffer>>));
    });
    const onAbort = () => client.cancelAsync('report');
    ctx.signal.addEventListener('abort', onAbort);
    try {
      say(`client.downloadAsync(url, 'report')`);
      client.downloadAsync(`${ctx.origin}/api/bytes?size=${size}&id=eap&delay=10`, 'report');
      const e = await completed;
      const what = e.error ? `error=${e.error.message}` : e.cancelled ? 'cancelled=true' : `result.size=${formatBytes(e.result.size)}`;
      say(`downloadCompleted        cancelled=${e.cancelled} error=${e.error ? e.error.name : 'null'} ${what}  userState=${String(e.userState)}`);
      if (e.userState !== 'report') userStates = false;
      const ok = !e.error && !e.cancelled && e.result.size === size && progressEvents > 0 && monotonic && lastPercent === 100 && userStates;
      const state = userStates ? `userState 'report'` : 'userState LOST';
      return { step: 'eap', ok, detail: `toEap(): ${progressEvents} downloadProgressChanged up to ${lastPercent}%, then downloadCompleted (${state})` };
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
  });
}
