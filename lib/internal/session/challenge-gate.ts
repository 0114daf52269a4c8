import type { ResponseHeaders } from '../core/events.js';

/** An authentication challenge (401 or 407) met by a task (NSURLSession's DidReceiveChallenge). */
export interface AuthChallenge {
  readonly taskId: string;
  readonly url: string;
  /** 401 (the server) or 407 (a proxy). */
  readonly status: 401 | 407;
  /** The response's headers: `www-authenticate` or `proxy-authenticate` say what is asked. */
  readonly headers: ResponseHeaders;
  /** How many answers this session already gave (0 for the first challenge). */
  readonly previousAnswers: number;
}

/** How the app answers a challenge. */
export type ChallengeAnswer =
  /** A user name and password, sent as Basic. */
  | { readonly type: 'credentials'; readonly username: string; readonly password: string }
  /** A (refreshed) bearer token. */
  | { readonly type: 'token'; readonly token: string }
  /** Headers of your own (any scheme). */
  | { readonly type: 'headers'; readonly headers: Readonly<Record<string, string>> }
  /** Cancel the challenged tasks. */
  | { readonly type: 'cancel' }
  /** Give up: the tasks fail with the 401/407. */
  | { readonly type: 'reject' };

/** The callback of `TransferSession.open({ onChallenge })`. */
export type ChallengeHandler = (challenge: AuthChallenge) => ChallengeAnswer | Promise<ChallengeAnswer>;

/** What the gate tells a challenged task to do. */
export type ChallengeVerdict = { readonly type: 'replay' } | { readonly type: 'cancel' } | { readonly type: 'reject' };

/**
 * Answers challenges one at a time (S7): the first task challenged asks the handler; tasks
 * challenged while it answers wait for the same answer, and a task challenged with credentials
 * older than the current ones is replayed at once without asking again. The credentials live in
 * memory only, never in the store.
 */
export class ChallengeGate {
  /** Bumped with each answer that supplies credentials. */
  generation = 0;
  private answers = 0;
  private readonly auth: Record<string, string> = {};
  private pending: Promise<ChallengeVerdict> | undefined;

  constructor(private readonly handler: ChallengeHandler | undefined) {}

  /** The headers to add to every request now. */
  get headers(): Readonly<Record<string, string>> {
    return this.auth;
  }

  /** A task that sent the credentials of `generation` was challenged. */
  challenge(generation: number, challenge: Omit<AuthChallenge, 'previousAnswers'>): Promise<ChallengeVerdict> {
    if (!this.handler) return Promise.resolve({ type: 'reject' });
    if (generation < this.generation) return Promise.resolve({ type: 'replay' });
    if (!this.pending) {
      const handler = this.handler;
      this.pending = (async (): Promise<ChallengeVerdict> => {
        try {
          const answer = await handler({ ...challenge, previousAnswers: this.answers });
          this.answers++;
          return this.apply(answer, challenge.status);
        } finally {
          this.pending = undefined;
        }
      })();
    }
    return this.pending;
  }

  private apply(answer: ChallengeAnswer, status: 401 | 407): ChallengeVerdict {
    const header = status === 407 ? 'Proxy-Authorization' : 'Authorization';
    switch (answer?.type) {
      case 'credentials':
        this.auth[header] = `Basic ${toBase64(`${answer.username}:${answer.password}`)}`;
        break;
      case 'token':
        this.auth[header] = `Bearer ${answer.token}`;
        break;
      case 'headers':
        Object.assign(this.auth, answer.headers);
        break;
      case 'cancel':
        return { type: 'cancel' };
      default:
        return { type: 'reject' };
    }
    this.generation++;
    return { type: 'replay' };
  }
}

function toBase64(text: string): string {
  let binary = '';
  for (const b of new TextEncoder().encode(text)) binary += String.fromCharCode(b);
  return btoa(binary);
}
