// The hand-written layer over the generated types: what generation cannot do. It gets
// and refreshes client-credentials tokens, fixes the tenant once, and turns RFC 9457
// problem answers into ProblemError exceptions.
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { paths as ClientsPaths } from "./generated/oauth-clients.js";
import type { paths as SubjectsPaths } from "./generated/iam-subjects.js";
import type { paths as PoliciesPaths } from "./generated/iam-policies.js";
import type { paths as ConsentPaths } from "./generated/consent.js";

export type { ClientsPaths, SubjectsPaths, PoliciesPaths, ConsentPaths };

/** An RFC 9457 problem answered by the platform. `type` is stable per error kind. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  requestId?: string;
  errors?: { field: string; message: string }[];
}

/** Thrown for every problem answer, so callers can switch on `problem.type`. */
export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(`${problem.status} ${problem.title}${problem.detail ? ": " + problem.detail : ""}`);
    this.name = "ProblemError";
  }
}

export interface Credentials {
  /** The tenant the client is registered in (where the token is issued). */
  tenant: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
}

/**
 * Tokens for one client, from its tenant's token endpoint (client_secret_basic), cached
 * until shortly before they expire and refetched after a 401.
 */
export class TokenSource {
  private token?: string;
  private expiresAt = 0;
  private pending?: Promise<string>;

  constructor(private readonly baseUrl: string, private readonly credentials: Credentials, private readonly fetchImpl: typeof fetch = fetch) {}

  async get(): Promise<string> {
    if (this.token && Date.now() < this.expiresAt - 30_000) return this.token;
    this.pending ??= this.fetchToken().finally(() => (this.pending = undefined));
    return this.pending;
  }

  invalidate(): void {
    this.token = undefined;
  }

  private async fetchToken(): Promise<string> {
    const { tenant, clientId, clientSecret, scope } = this.credentials;
    const body = new URLSearchParams({ grant_type: "client_credentials" });
    if (scope) body.set("scope", scope);
    const basic = btoa(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`);
    const res = await this.fetchImpl(`${this.baseUrl}/v1/tenants/${encodeURIComponent(tenant)}/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Authorization: `Basic ${basic}` },
      body,
    });
    const json = (await res.json()) as { access_token?: string; expires_in?: number; error?: string; error_description?: string };
    if (!res.ok || !json.access_token) {
      throw new ProblemError({ type: `oauth:${json.error ?? "error"}`, title: json.error ?? "token request failed", status: res.status, detail: json.error_description });
    }
    this.token = json.access_token;
    this.expiresAt = Date.now() + (json.expires_in ?? 60) * 1000;
    return this.token;
  }
}

/**
 * Where a platform object gets its bearer tokens: a TokenSource (a client's own
 * credentials) or, in a browser, a signed-in person (browser.ts' SignIn).
 */
export interface AccessTokens {
  get(): Promise<string>;
  invalidate?(): void;
}

export { SignIn, SignInError, type SignInOptions, type Identity } from "./browser.js";

function middleware(tokens: AccessTokens): Middleware {
  return {
    async onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${await tokens.get()}`);
      return request;
    },
    async onResponse({ response }) {
      if (response.status === 401) tokens.invalidate?.();
      if (response.headers.get("Content-Type")?.startsWith("application/problem+json")) {
        throw new ProblemError((await response.clone().json()) as Problem);
      }
      return response;
    },
  };
}

export interface Platform {
  clients: Client<ClientsPaths>;
  subjects: Client<SubjectsPaths>;
  policies: Client<PoliciesPaths>;
  consent: Client<ConsentPaths>;
  tokens: AccessTokens;
}

/**
 * Clients for every service behind one gateway URL, authenticated with the given client
 * credentials. Paths keep their `{tenant}` parameter so one platform object can serve a
 * platform admin working across tenants.
 */
export function connect(baseUrl: string, credentials: Credentials, fetchImpl: typeof fetch = fetch): Platform {
  return connectWith(baseUrl, new TokenSource(baseUrl, credentials, fetchImpl), fetchImpl);
}

/**
 * Clients for every service that send tokens from tokens, e.g. a signed-in person's:
 * `connectWith(baseUrl, { get: () => signIn.getAccessToken() })`.
 */
export function connectWith(baseUrl: string, tokens: AccessTokens, fetchImpl: typeof fetch = fetch): Platform {
  const make = <P extends {}>() => {
    const c = createClient<P>({ baseUrl, fetch: fetchImpl });
    c.use(middleware(tokens));
    return c;
  };
  return { clients: make<ClientsPaths>(), subjects: make<SubjectsPaths>(), policies: make<PoliciesPaths>(), consent: make<ConsentPaths>(), tokens };
}
