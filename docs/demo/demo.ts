/**
 * The browser demo page of `rxtransfer demo --web` (served with `index.html` and `demo.css`).
 * Bundled by esbuild with `rxtransfer` resolved to the package's platform-neutral entry
 * (`lib/index.ts`): axios' XHR adapter, WebCrypto, no Node modules. See `lib/cli/demo-page.ts`
 * and `scripts/build-demo.mjs`.
 */
import { setUpDownloadPanel } from './download-panel.js';
import { setUpEapPanel } from './eap-panel.js';
import { setUpFramesPanel } from './frames-panel.js';
import { setUpUploadPanel } from './upload-panel.js';

setUpUploadPanel();
setUpDownloadPanel();
setUpFramesPanel();
setUpEapPanel();
document.body.dataset['ready'] = 'true';
