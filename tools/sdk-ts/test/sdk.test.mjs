// Runs the SDK against the real dev stack (tools/cmd/iam-dev), started by this test on a
// free port with its own data directory.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack } from "./stack.mjs";
import { connect, ProblemError } from "../dist/index.js";

const admin = { tenant: "system", clientId: "sdk-admin", clientSecret: "sdk-admin-secret" };
let stack, baseUrl;

before(async () => {
  stack = await startStack(admin);
  baseUrl = stack.baseUrl;
});

after(() => stack?.stop());

test("a token is fetched once and reused", async () => {
  const p = connect(baseUrl, admin);
  const first = await p.tokens.get();
  assert.match(first, /^eyJ/);
  assert.equal(await p.tokens.get(), first);
});

test("a CRUD round trip per service", async () => {
  const p = connect(baseUrl, admin);
  const tenant = { params: { path: { tenant: "acme" } } };

  const created = await p.clients.POST("/v1/tenants/{tenant}/clients", { ...tenant, body: { clientName: "sdk client", scopes: [] } });
  assert.equal(created.response.status, 201);
  const clientId = created.data.clientId;
  assert.ok(created.data.clientSecret, "a confidential client's secret is shown at creation");
  const fetched = await p.clients.GET("/v1/tenants/{tenant}/clients/{clientId}", { params: { path: { tenant: "acme", clientId } } });
  assert.equal(fetched.data.clientName, "sdk client");

  const group = await p.subjects.POST("/v1/tenants/{tenant}/groups", { ...tenant, body: { displayName: "SDK group" } });
  assert.equal(group.response.status, 201);
  const user = await p.subjects.POST("/v1/tenants/{tenant}/users", { ...tenant, body: { username: "sdk.user", groupIds: [group.data.id] } });
  assert.deepEqual(user.data.groupIds, [group.data.id]);
  // Read-modify-write: the group as read goes back with one field changed.
  const groupPath = { params: { path: { tenant: "acme", groupId: group.data.id } } };
  const read = await p.subjects.GET("/v1/tenants/{tenant}/groups/{groupId}", groupPath);
  const written = await p.subjects.PUT("/v1/tenants/{tenant}/groups/{groupId}", { ...groupPath, body: { ...read.data, description: "Written back" } });
  assert.equal(written.response.status, 200);
  assert.deepEqual(written.data.description, { en: "Written back" });
  // Adding members answers Aritma's [{groupId, subjectId}].
  const other = await p.subjects.POST("/v1/tenants/{tenant}/groups", { ...tenant, body: { displayName: "SDK group 2", description: "Aritma's plain description" } });
  const added = await p.subjects.POST("/v1/tenants/{tenant}/groups/{groupId}/members", { params: { path: { tenant: "acme", groupId: other.data.id } }, body: { subjectIds: [`user-${user.data.id}`] } });
  assert.deepEqual(added.data, [{ groupId: other.data.id, subjectId: `user-${user.data.id}` }]);

  const policy = await p.policies.POST("/v1/tenants/{tenant}/policies", { ...tenant, body: { subject: `group-${group.data.id}`, scope: "/docs", action: "doc.read" } });
  assert.equal(policy.response.status, 201);
  // The membership reaches iam-policies through events; wait for the check to see it.
  let allowed = false;
  for (let i = 0; i < 100 && !allowed; i++) {
    const d = await p.policies.POST("/v1/tenants/{tenant}/check", { ...tenant, body: { subject: `user-${user.data.id}`, action: "doc.read", scope: "/docs/1" } });
    allowed = d.data.allowed;
    if (!allowed) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(allowed, "the user's group membership reached the check");

  const action = await p.consent.POST("/v1/tenants/{tenant}/consent-actions", { ...tenant, body: { name: "signup", description: "asked at sign-up" } });
  assert.equal(action.response.status, 201);
  const actions = await p.consent.GET("/v1/tenants/{tenant}/consent-actions", tenant);
  assert.ok(actions.data.data.some((a) => a.name === "signup"));

  const deleted = await p.clients.DELETE("/v1/tenants/{tenant}/clients/{clientId}", { params: { path: { tenant: "acme", clientId } } });
  assert.equal(deleted.response.status, 204);
});

test("problems become ProblemError with the stable type", async () => {
  const p = connect(baseUrl, admin);
  await assert.rejects(
    p.clients.GET("/v1/tenants/{tenant}/clients/{clientId}", { params: { path: { tenant: "acme", clientId: "nosuch" } } }),
    (err) => err instanceof ProblemError && err.problem.status === 404 && err.problem.type.endsWith("/not-found"),
  );
  const wrong = connect(baseUrl, { ...admin, clientSecret: "wrong" });
  await assert.rejects(wrong.tokens.get(), (err) => err instanceof ProblemError && err.problem.title === "invalid_client");
});
