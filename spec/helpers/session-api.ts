/** `TransferSession` as users get it, from the Node entry point. */
export { TransferSession } from 'rxtransfer';
