import { download, upload } from 'rxtransfer';
import { createSessionApi } from '../../lib/internal/session/index';
import { nodeSessionPlatform } from '../../lib/internal/node/session-platform';

/**
 * `TransferSession` as the Node entry point builds it (`lib/index.node.ts`), for the session
 * specs: they import it from here so that they do not depend on the entry being wired.
 */
export const TransferSession = createSessionApi(nodeSessionPlatform({ download, upload }));
