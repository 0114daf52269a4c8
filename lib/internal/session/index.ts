export type { TransferSession } from './transfer-session.js';
export { createSessionApi, type TransferSessionStatic } from './session-api.js';
export type {
  SessionOptions,
  SessionDownloadOptions,
  SessionUploadOptions,
  SessionInvalidation,
  SessionPlatform,
} from './session-options.js';
export type { SessionStore, SessionStoreHandle, TaskChange } from './session-store.js';
export type { TaskRecord, TaskState, TaskResult, TaskFailure, TaskCompletion, SessionEvent } from './session-task.js';
export type { AuthChallenge, ChallengeAnswer, ChallengeHandler } from './challenge-gate.js';
export { SessionLockedError, isSessionLockedError } from './session-locked-error.js';
export { SessionInvalidatedError, isSessionInvalidatedError } from './session-invalidated-error.js';
export { SourceChangedError, isSourceChangedError, type SourceVersion } from './source-changed-error.js';
export { memorySessionStore } from './memory-store.js';
export { JournalStoreHandle, type JournalFile, type JournalCompaction } from './journal-store.js';
