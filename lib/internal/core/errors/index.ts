export { TransferError, isTransferError, type TransferErrorCode, type TransferErrorContext } from './transfer-error.js';
export { TimeoutError, isTimeoutError, type TimeoutPhase } from './timeout-error.js';
export { CancelledError, isCancelledError } from './cancelled-error.js';
export { HttpStatusError, isHttpStatusError, BODY_EXCERPT_LIMIT } from './http-status-error.js';
export { NetworkError, isNetworkError } from './network-error.js';
export { IntegrityError, isIntegrityError, type IntegrityReason } from './integrity-error.js';
