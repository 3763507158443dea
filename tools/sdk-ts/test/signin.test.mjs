// A person signs in to a single-page app in a real browser (Debian's chromium driven by
// playwright-core) against the real dev stack: app -> authorize -> login page (a wrong
// password first) -> consent page (a required EULA, an optional newsletter) -> code ->
// tokens through the SDK's SignIn -> /me as the person -> refresh -> logout -> the next
// sign-in asks for the password again. Screenshots of the pages are kept as artifacts.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync, mkdirSync, existsSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { startStack, freePort, root } from "./stack.mjs";
import { connect } from "../dist/index.js";

const admin = { tenant: "system", clientId: "sdk-admin", clientSecret: "sdk-admin-secret" };
const tenant = "signin";
const person = { username: "ana", email: "ana@example.com", firstName: "Ana", lastName: "Lima", password: "correct horse battery staple" };
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const artifacts = process.env.IAM_TEST_ARTIFACTS ?? path.join(root, "bin", "test-artifacts");
const sdkDir = path.resolve(root, "tools/sdk-ts");

let stack, app, appUrl, browser;
const ids = {};

// The application: one page that loads the SDK as ES modules (no bundler), signs in and
// calls /me. It runs on its own origin, as a real SPA would, and calls the platform
// cross-origin.
function appPage(config) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Demo app</title>
<script type="importmap">{"imports":{"openapi-fetch":"/node_modules/openapi-fetch/dist/index.mjs"}}</script>
</head><body>
<h1>Demo app</h1>
<p id="status">starting</p>
<button id="signin">Sign in</button> <button id="me">Who am I</button> <button id="refresh">Refresh</button> <button id="signout">Sign out</button>
<pre id="out"></pre>
<script type="module">
import { SignIn, connectWith } from "/sdk/index.js";
const config = ${JSON.stringify(config)};
const signIn = new SignIn(config);
const platform = connectWith(config.baseUrl, { get: () => signIn.getAccessToken() });
const status = (s) => { document.getElementById("status").textContent = s; };
const out = (v) => { document.getElementById("out").textContent = typeof v === "string" ? v : JSON.stringify(v); };
const guard = (f) => async () => { try { await f(); } catch (e) { status("error: " + e.message); } };
document.getElementById("signin").onclick = guard(() => signIn.signIn({ uiLocales: "en" }));
document.getElementById("me").onclick = guard(async () => {
  const { data } = await platform.subjects.GET("/v1/tenants/{tenant}/me", { params: { path: { tenant: config.tenant } } });
  out(data); status("me");
});
document.getElementById("refresh").onclick = guard(async () => { const t = await signIn.refresh(); out(t); status("refreshed"); });
document.getElementById("signout").onclick = guard(() => signIn.signOut());
if (location.pathname === "/callback") {
  try {
    const { identity } = await signIn.handleRedirect();
    history.replaceState(null, "", "/");
    out(identity); status("signed in as " + identity.sub);
  } catch (e) { status("error: " + e.message); }
} else {
  status(signIn.signedIn ? "signed in" : "signed out");
}
</script></body></html>`;
}

function serveApp(config) {
  return createServer((req, res) => {
    const url = new URL(req.url, "http://app");
    const file = url.pathname.startsWith("/sdk/") ? path.join(sdkDir, "dist", url.pathname.slice(5))
      : url.pathname.startsWith("/node_modules/") ? path.join(sdkDir, url.pathname) : null;
    if (file) {
      if (!file.startsWith(sdkDir) || !existsSync(file)) { res.writeHead(404).end(); return; }
      res.writeHead(200, { "Content-Type": "text/javascript" }).end(readFileSync(file));
      return;
    }
    res.writeHead(200, { "Content-Type": "text/html" }).end(appPage(config));
  });
}

before(async () => {
  stack = await startStack(admin);
  const p = connect(stack.baseUrl, admin);
  const path_ = { params: { path: { tenant } } };
  const port = await freePort();
  appUrl = `http://127.0.0.1:${port}`;

  const user = await p.subjects.POST("/v1/tenants/{tenant}/users", { ...path_, body: { username: person.username, email: person.email, firstName: person.firstName, lastName: person.lastName } });
  assert.equal(user.response.status, 201);
  ids.user = user.data.id;
  const pw = await p.subjects.PUT("/v1/tenants/{tenant}/users/{userId}/password", { params: { path: { tenant, userId: ids.user } }, body: { password: person.password } });
  assert.equal(pw.response.status, 204);

  const eula = await p.consent.POST("/v1/tenants/{tenant}/consents", { ...path_, body: { name: "eula", description: "The terms of use" } });
  assert.equal(eula.response.status, 201, JSON.stringify(eula.error));
  const news = await p.consent.POST("/v1/tenants/{tenant}/consents", { ...path_, body: { name: "newsletter", description: "News by email" } });
  assert.equal(news.response.status, 201, JSON.stringify(news.error));
  ids.eula = eula.data.id;
  ids.newsletter = news.data.id;
  const action = await p.consent.POST("/v1/tenants/{tenant}/consent-actions", { ...path_, body: { name: "app-signup", description: "asked when signing in to the demo app", consents: [{ consentId: ids.eula, required: true }, { consentId: ids.newsletter, required: false }] } });
  assert.equal(action.response.status, 201, JSON.stringify(action.error));

  const client = await p.clients.POST("/v1/tenants/{tenant}/clients", { ...path_, body: {
    clientName: "Demo app", public: true, tokenEndpointAuthMethod: "none",
    grantTypes: ["authorization_code", "refresh_token"], responseTypes: ["code"],
    redirectUris: [`${appUrl}/callback`], postLogoutRedirectUris: [`${appUrl}/`],
    scopes: ["openid", "profile", "email", "offline_access"], consentActionId: action.data.id,
  } });
  assert.equal(client.response.status, 201, JSON.stringify(client.error));
  ids.client = client.data.clientId;

  app = serveApp({ baseUrl: stack.baseUrl, tenant, clientId: ids.client, redirectUri: `${appUrl}/callback`, postLogoutRedirectUri: `${appUrl}/`, scope: "openid profile email offline_access" });
  await new Promise((resolve) => app.listen(port, "127.0.0.1", resolve));
  mkdirSync(artifacts, { recursive: true });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    // As root in a container chromium needs --no-sandbox; the rest keeps it off the
    // network this machine does not have.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  app?.close();
  await stack?.stop();
});

test("a person signs in, calls the API, refreshes and signs out in a real browser", { timeout: 120_000 }, async () => {
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(appUrl);
  await page.waitForSelector("#status:has-text('signed out')");

  // Sign in: the login page of iam-subjects, on the platform's origin.
  await page.click("#signin");
  await page.waitForURL(/\/login\?login_challenge=/);
  await page.screenshot({ path: path.join(artifacts, "login.png"), fullPage: true });
  await page.fill("#username", person.username);
  await page.fill("#password", "not the password");
  await page.click("button[type=submit]");
  await page.waitForSelector("[role=alert]");
  assert.match(await page.textContent("[role=alert]"), /wrong username or password/i);
  await page.fill("#username", person.username);
  await page.fill("#password", person.password);
  await page.click("button[type=submit]");

  // Consent: the required EULA must be ticked; the newsletter stays unticked.
  await page.waitForURL(/\/consent-screen\?consent_challenge=/);
  await page.screenshot({ path: path.join(artifacts, "consent.png"), fullPage: true });
  await page.check(`input[name=consent][value="${ids.eula}"]`);
  assert.equal(await page.isChecked(`input[name=consent][value="${ids.newsletter}"]`), false);
  await page.click("button[name=decision][value=allow]");

  // Back in the app with tokens from the SDK.
  await page.waitForSelector(`#status:has-text('signed in as user-${ids.user}')`);
  await page.click("#me");
  await page.waitForSelector("#status:has-text('me')");
  const me = JSON.parse(await page.textContent("#out"));
  assert.equal(me.subject.subjectId, `user-${ids.user}`);

  await page.click("#refresh");
  await page.waitForSelector("#status:has-text('refreshed')");
  await page.click("#me");
  await page.waitForSelector("#status:has-text('me')");

  // The grant is in consent's records: the app has access, the EULA is granted.
  const p = connect(stack.baseUrl, admin);
  const access = await p.consent.GET("/v1/tenants/{tenant}/client-access/{subjectId}", { params: { path: { tenant, subjectId: `user-${ids.user}` } } });
  assert.ok(JSON.stringify(access.data).includes(ids.client), "the client is listed among those the person let in");

  // Sign out: back to the app, signed out; the next sign-in asks for the password.
  await page.click("#signout");
  await page.waitForURL(`${appUrl}/**`);
  await page.waitForSelector("#status:has-text('signed out')");
  await page.click("#signin");
  await page.waitForURL(/\/login\?login_challenge=/);
  assert.ok(await page.isVisible("#password"), "the password is asked again after logout");
  await page.close();
});
