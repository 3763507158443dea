// Sign-in for single-page applications: OAuth 2.1 authorization code with PKCE and OpenID
// Connect against one tenant of the platform. It has no imports, so a page can load
// dist/browser.js as it is. What it checks, so an application does not have to:
// - PKCE (S256) with a fresh verifier per attempt, `state` against cross-site request
//   forgery, `nonce` against ID-token replay, and RFC 9207 `iss` against mix-up attacks;
// - the ID token's issuer, audience, nonce and expiry (it arrives straight from the token
//   endpoint over the same origin, OIDC Core §3.1.3.7, so its signature is the server's);
// - refresh: the access token is renewed with the (rotated) refresh token shortly before it
//   expires, one refresh at a time however many calls ask.
// Tokens live in memory; only the refresh token and the pending attempt are kept in
// sessionStorage (per tab, gone when it closes), so a reload does not sign the person out.

/** Settings of one application (a public client registered with the platform). */
export interface SignInOptions {
  /** The platform's public URL (the gateway), e.g. https://iam.example.com */
  baseUrl: string;
  tenant: string;
  clientId: string;
  /** Registered redirect URI, where the platform sends the browser back with the code. */
  redirectUri: string;
  /** Scopes to ask for; openid is always added, offline_access for refresh tokens. */
  scope?: string;
  /** Registered post-logout redirect URI. */
  postLogoutRedirectUri?: string;
  storage?: Storage;
  fetchImpl?: typeof fetch;
}

/** What the platform said about the signed-in person (ID token claims). */
export interface Identity {
  sub: string;
  auth_time?: number;
  sid?: string;
  [claim: string]: unknown;
}

/** An OAuth error answer, from the redirect or the token endpoint. */
export class SignInError extends Error {
  constructor(readonly error: string, readonly description?: string) {
    super(description ? `${error}: ${description}` : error);
    this.name = "SignInError";
  }
}

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint: string;
  end_session_endpoint?: string;
}

interface Pending {
  state: string;
  nonce: string;
  verifier: string;
  returnTo?: string;
}

interface TokenAnswer {
  access_token: string;
  expires_in?: number;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
  error?: string;
  error_description?: string;
}

const enc = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function s256(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(verifier))));
}

function decodeJwt(token: string): Record<string, unknown> {
  const part = token.split(".")[1];
  if (!part) throw new SignInError("invalid_token", "not a JWT");
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
}

export class SignIn {
  private discovery?: Promise<Discovery>;
  private accessToken?: string;
  private expiresAt = 0;
  private idToken?: string;
  private refreshing?: Promise<string>;
  private readonly storage: Storage;
  private readonly fetchImpl: typeof fetch;
  private readonly key: string;

  constructor(private readonly options: SignInOptions) {
    this.storage = options.storage ?? sessionStorage;
    this.fetchImpl = options.fetchImpl ?? fetch.bind(globalThis);
    this.key = `iam.signin.${options.tenant}.${options.clientId}`;
    this.idToken = this.storage.getItem(`${this.key}.id`) ?? undefined;
  }

  /** The tenant's OpenID provider metadata, fetched once. */
  metadata(): Promise<Discovery> {
    this.discovery ??= (async () => {
      const base = this.options.baseUrl.replace(/\/$/, "");
      const res = await this.fetchImpl(`${base}/v1/tenants/${encodeURIComponent(this.options.tenant)}/.well-known/openid-configuration`);
      if (!res.ok) throw new SignInError("discovery_failed", `openid-configuration answered ${res.status}`);
      return (await res.json()) as Discovery;
    })();
    return this.discovery;
  }

  /**
   * The URL that starts a sign-in; the attempt's secrets are kept for handleRedirect.
   * `prompt: "login"` asks for the password even when the person has a session.
   */
  async authorizeUrl(extra: { prompt?: string; loginHint?: string; uiLocales?: string; maxAge?: number; returnTo?: string } = {}): Promise<string> {
    const md = await this.metadata();
    const pending: Pending = { state: randomString(), nonce: randomString(), verifier: randomString(48), returnTo: extra.returnTo };
    this.storage.setItem(`${this.key}.pending`, JSON.stringify(pending));
    const scope = new Set(["openid", ...(this.options.scope ?? "").split(" ").filter(Boolean)]);
    const q = new URLSearchParams({
      response_type: "code",
      client_id: this.options.clientId,
      redirect_uri: this.options.redirectUri,
      scope: [...scope].join(" "),
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await s256(pending.verifier),
      code_challenge_method: "S256",
    });
    if (extra.prompt) q.set("prompt", extra.prompt);
    if (extra.loginHint) q.set("login_hint", extra.loginHint);
    if (extra.uiLocales) q.set("ui_locales", extra.uiLocales);
    if (extra.maxAge !== undefined) q.set("max_age", String(extra.maxAge));
    return `${md.authorization_endpoint}?${q}`;
  }

  /** Sends the browser to the platform to sign in. */
  async signIn(extra: Parameters<SignIn["authorizeUrl"]>[0] = {}): Promise<void> {
    location.assign(await this.authorizeUrl(extra));
  }

  /**
   * Completes a sign-in on the redirect URI: checks state and iss, exchanges the code with
   * the PKCE verifier, checks the ID token. Returns the identity and where to go next.
   */
  async handleRedirect(url: string = location.href): Promise<{ identity: Identity; returnTo?: string }> {
    const params = new URL(url).searchParams;
    const raw = this.storage.getItem(`${this.key}.pending`);
    this.storage.removeItem(`${this.key}.pending`);
    if (!raw) throw new SignInError("invalid_request", "no sign-in was started in this tab");
    const pending = JSON.parse(raw) as Pending;
    if (params.get("state") !== pending.state) throw new SignInError("invalid_state", "the answer does not belong to the sign-in this tab started");
    const md = await this.metadata();
    if (params.get("iss") !== md.issuer) throw new SignInError("invalid_issuer", "the answer names another issuer (RFC 9207)");
    const error = params.get("error");
    if (error) throw new SignInError(error, params.get("error_description") ?? undefined);
    const code = params.get("code");
    if (!code) throw new SignInError("invalid_request", "no code in the answer");
    const answer = await this.token({
      grant_type: "authorization_code",
      code,
      redirect_uri: this.options.redirectUri,
      code_verifier: pending.verifier,
      client_id: this.options.clientId,
    });
    if (!answer.id_token) throw new SignInError("invalid_token", "no ID token in the answer");
    const claims = decodeJwt(answer.id_token);
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (claims.iss !== md.issuer) throw new SignInError("invalid_token", "ID token from another issuer");
    if (!aud.includes(this.options.clientId)) throw new SignInError("invalid_token", "ID token for another client");
    if (claims.nonce !== pending.nonce) throw new SignInError("invalid_token", "ID token nonce does not match (replayed?)");
    if (typeof claims.exp !== "number" || claims.exp * 1000 < Date.now()) throw new SignInError("invalid_token", "ID token expired");
    this.keep(answer);
    return { identity: claims as Identity, returnTo: pending.returnTo };
  }

  /** Whether tokens are held (or can be renewed with a kept refresh token). */
  get signedIn(): boolean {
    return !!this.accessToken || !!this.storage.getItem(`${this.key}.refresh`);
  }

  /** The identity of the current ID token, if any. */
  get identity(): Identity | undefined {
    return this.idToken ? (decodeJwt(this.idToken) as Identity) : undefined;
  }

  /** A valid access token, refreshed silently shortly before it expires. */
  async getAccessToken(): Promise<string> {
    if (this.accessToken && Date.now() < this.expiresAt - 30_000) return this.accessToken;
    return this.refresh();
  }

  /** Renews the tokens with the refresh token (rotated: the old one stops working). */
  refresh(): Promise<string> {
    this.refreshing ??= (async () => {
      const refreshToken = this.storage.getItem(`${this.key}.refresh`);
      if (!refreshToken) throw new SignInError("login_required", "no refresh token: sign in again");
      try {
        const answer = await this.token({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: this.options.clientId });
        this.keep(answer);
        return answer.access_token;
      } catch (err) {
        if (err instanceof SignInError && err.error === "invalid_grant") this.forget();
        throw err;
      }
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** The person's claims from the userinfo endpoint. */
  async userinfo(): Promise<Record<string, unknown>> {
    const md = await this.metadata();
    const res = await this.fetchImpl(md.userinfo_endpoint, { headers: { Authorization: `Bearer ${await this.getAccessToken()}` } });
    if (!res.ok) throw new SignInError("userinfo_failed", `userinfo answered ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  }

  /** Forgets the tokens and sends the browser to the platform's logout (RP-initiated). */
  async signOut(): Promise<void> {
    const md = await this.metadata();
    const idToken = this.idToken;
    this.forget();
    if (!md.end_session_endpoint) return;
    const q = new URLSearchParams({ client_id: this.options.clientId });
    if (idToken) q.set("id_token_hint", idToken);
    if (this.options.postLogoutRedirectUri) {
      q.set("post_logout_redirect_uri", this.options.postLogoutRedirectUri);
      q.set("state", randomString(16));
    }
    location.assign(`${md.end_session_endpoint}?${q}`);
  }

  private async token(form: Record<string, string>): Promise<TokenAnswer> {
    const md = await this.metadata();
    const res = await this.fetchImpl(md.token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form),
    });
    const answer = (await res.json()) as TokenAnswer;
    if (!res.ok || !answer.access_token) throw new SignInError(answer.error ?? "token_failed", answer.error_description);
    return answer;
  }

  private keep(answer: TokenAnswer): void {
    this.accessToken = answer.access_token;
    this.expiresAt = Date.now() + (answer.expires_in ?? 300) * 1000;
    if (answer.id_token) {
      this.idToken = answer.id_token;
      this.storage.setItem(`${this.key}.id`, answer.id_token);
    }
    if (answer.refresh_token) this.storage.setItem(`${this.key}.refresh`, answer.refresh_token);
  }

  private forget(): void {
    this.accessToken = undefined;
    this.idToken = undefined;
    this.expiresAt = 0;
    this.storage.removeItem(`${this.key}.refresh`);
    this.storage.removeItem(`${this.key}.id`);
  }
}
