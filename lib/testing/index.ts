/**
 * rxtransfer/testing — a fake transport to script in your own tests, and the grammar checker
 * rxtransfer's own tests use.
 * @packageDocumentation
 */
export { FakeTransport, FakeRequest, type FakeHead } from '../internal/testing/fake-transport.js';
export { grammarViolations, assertTransferGrammar, recordTransfer, type Notification } from '../internal/testing/grammar-checker.js';
