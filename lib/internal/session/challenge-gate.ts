import type { ResponseHeaders } from '../core/events.js';
import { originOf } from '../core/redact.js';
import { checkHeaders } from '../core/options.js';
import { TransferError } from '../core/errors/transfer-error.js';

/** An authentication challenge (401 or 407) met by a task (NSURLSession's DidReceiveChallenge). */
export interface AuthChallenge {
  readonly taskId: string;
  readonly url: string;
  /** 401 (the server) or 407 (a proxy). */
  readonly status: 401 | 407;
  /** The response's headers: `www-authenticate` or `proxy-authenticate` say what is asked. */
  readonly headers: ResponseHeaders;
  /**
   * How many answers this session already gave for the same origin (on a 407, for the proxy of
   * that origin's requests): 0 for the first challenge.
   */
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

/** The credentials a run's requests carry: a generation of its origin's and of the proxy's (see {@link ChallengeGate}). */
export interface CredentialsSent {
  readonly origin: number;
  readonly proxy: number;
}

/** The answers given for one origin: to its 401s, or to its 407s (the proxy its requests go through). */
interface Scope {
  /** Bumped with each answer that supplies credentials. */
  generation: number;
  answers: number;
  readonly auth: Record<string, string>;
  pending: Promise<ChallengeVerdict> | undefined;
}

/**
 * The key of the scope of the proxy that `origin`'s requests go through. Kept per origin: a
 * session does not know which proxy (if any) another origin's requests take. With
 * `NO_PROXY`, or an https origin (tunnelled: the proxy answers the CONNECT, and a header goes
 * inside the tunnel), a `Proxy-Authorization` sent with every task would reach origin servers.
 */
function proxyScope(origin: string): string {
  return `proxy ${origin}`;
}

/**
 * Answers challenges (S7), per origin: credentials given for a 401 go only to requests for the
 * origin that asked (G11: never to another origin), and so do those for a 407, which are the
 * proxy's that the origin's requests went through (see {@link proxyScope}). Within an origin, one challenge at a time: the first task challenged asks the
 * handler; tasks challenged while it answers wait for the same answer, and a task challenged with
 * credentials older than the current ones is replayed at once without asking again. The
 * credentials live in memory only, never in the store.
 */
export class ChallengeGate {
  private readonly scopes = new Map<string, Scope>();

  constructor(private readonly handler: ChallengeHandler | undefined) {}

  /** The credentials a request to `url` starts with now. */
  sent(url: string): CredentialsSent {
    const origin = originOf(url);
    return { origin: this.scope(origin).generation, proxy: this.scope(proxyScope(origin)).generation };
  }

  /**
   * `headers` with the credentials for `url` added; a header the gate sets replaces the task's of
   * the same name in any case (one `Authorization`, not two).
   */
  withCredentials(url: string, headers: Readonly<Record<string, string>>): Record<string, string> {
    const origin = originOf(url);
    const auth = { ...this.scope(proxyScope(origin)).auth, ...this.scope(origin).auth };
    const replaced = new Set(Object.keys(auth).map((name) => name.toLowerCase()));
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) if (!replaced.has(name.toLowerCase())) out[name] = value;
    return Object.assign(out, auth);
  }

  /**
   * The names of the headers {@link withCredentials} adds for `url`: credentials, dropped by a
   * redirect that leaves the origin (G11), whatever their name (a `headers` answer's `X-Api-Key`).
   */
  credentialNames(url: string): string[] {
    const origin = originOf(url);
    return [...Object.keys(this.scope(proxyScope(origin)).auth), ...Object.keys(this.scope(origin).auth)];
  }

  /** A task whose requests carried `sent` was challenged. */
  challenge(sent: CredentialsSent, challenge: Omit<AuthChallenge, 'previousAnswers'>): Promise<ChallengeVerdict> {
    if (!this.handler) return Promise.resolve({ type: 'reject' });
    const proxy = challenge.status === 407;
    const origin = originOf(challenge.url);
    const scope = this.scope(proxy ? proxyScope(origin) : origin);
    if ((proxy ? sent.proxy : sent.origin) < scope.generation) return Promise.resolve({ type: 'replay' });
    if (!scope.pending) {
      const handler = this.handler;
      scope.pending = (async (): Promise<ChallengeVerdict> => {
        try {
          // Called once `pending` is set: a handler that throws at once (not async) ends this
          // challenge, and its failure is not left as the answer to every later one.
          const answer = await Promise.resolve().then(() => handler({ ...challenge, previousAnswers: scope.answers }));
          scope.answers++;
          return apply(scope, answer, challenge);
        } finally {
          scope.pending = undefined;
        }
      })();
    }
    return scope.pending;
  }

  private scope(key: string): Scope {
    let scope = this.scopes.get(key);
    if (!scope) {
      scope = { generation: 0, answers: 0, auth: {}, pending: undefined };
      this.scopes.set(key, scope);
    }
    return scope;
  }
}

/**
 * Keeps an answer's credentials and says to replay. An answer that cannot be sent (a token read
 * from a file with its newline, a header name with a space) throws, and is not kept: kept, it
 * would make every later request to the origin fail before it is sent, and no 401 would ask again.
 */
function apply(scope: Scope, answer: ChallengeAnswer, challenge: Omit<AuthChallenge, 'previousAnswers'>): ChallengeVerdict {
  const header = challenge.status === 407 ? 'Proxy-Authorization' : 'Authorization';
  let auth: unknown;
  switch (answer?.type) {
    case 'credentials':
      auth = { [header]: `Basic ${toBase64(`${answer.username}:${answer.password}`)}` };
      break;
    case 'token':
      auth = { [header]: `Bearer ${answer.token}` };
      break;
    case 'headers':
      auth = answer.headers;
      break;
    case 'cancel':
      return { type: 'cancel' };
    default:
      return { type: 'reject' };
  }
  const checked = checkHeaders(auth);
  if (typeof checked === 'string') throw new TransferError('invalid', `the answer to the ${challenge.status} challenge cannot be sent: ${checked}`, { url: challenge.url });
  Object.assign(scope.auth, checked);
  scope.generation++;
  return { type: 'replay' };
}

function toBase64(text: string): string {
  let binary = '';
  for (const b of new TextEncoder().encode(text)) binary += String.fromCharCode(b);
  return btoa(binary);
}
