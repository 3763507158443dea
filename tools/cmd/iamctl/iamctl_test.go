package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/iamplane/iam/pkg/testenv"

	"github.com/iamplane/iam/tools/devstack"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// iamctl runs one command line and returns what it printed.
func iamctl(t *testing.T, env map[string]string, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := newRoot(func(k string) string { return env[k] }, strings.NewReader(stdin))
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func mustIamctl(t *testing.T, env map[string]string, stdin string, args ...string) string {
	t.Helper()
	out, err := iamctl(t, env, stdin, args...)
	if err != nil {
		t.Fatalf("iamctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// startStack runs the dev stack with the admin client ctl-admin, and gives iamctl a
// config file of its own.
func startStack(t *testing.T) (*devstack.Stack, map[string]string) {
	t.Helper()
	ns := testenv.NewNATS(t)
	stack, err := devstack.Start(context.Background(), devstack.Options{
		Database: func(string) (string, error) { return testenv.NewDatabase(t), nil },
		NATSURL:  ns.URLFor, Addr: "127.0.0.1:0", BootstrapID: "ctl-admin", BootstrapSecret: "ctl-admin-secret", Logger: testenv.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stack.Close)
	return stack, map[string]string{"IAMCTL_CONFIG": filepath.Join(t.TempDir(), "config.yaml")}
}

func TestLoginCrudExportApply(t *testing.T) {
	stack, env := startStack(t)

	if _, err := iamctl(t, env, "", "login", "--url", stack.URL, "--client-id", "ctl-admin", "--client-secret", "wrong"); err == nil {
		t.Fatal("login with a wrong secret succeeded")
	}
	mustIamctl(t, env, "", "login", "--url", stack.URL, "--client-id", "ctl-admin", "--client-secret", "ctl-admin-secret")
	if info, err := os.Stat(env["IAMCTL_CONFIG"]); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("config file: %v %v", info, err)
	}

	mustIamctl(t, env, "displayName: Ops\n", "groups", "create", "--tenant", "acme", "-f", "-")
	table := mustIamctl(t, env, "", "groups", "list", "--tenant", "acme")
	if !strings.Contains(table, "DISPLAYNAME") || !strings.Contains(table, "Ops") {
		t.Errorf("table:\n%s", table)
	}
	if _, err := iamctl(t, env, "clientName: 5\n", "clients", "create", "--tenant", "acme", "-f", "-"); err == nil {
		t.Error("a bad client was accepted")
	}
	// The actions catalog, whole: create, read, versioned update, delete.
	mustIamctl(t, env, "id: doc.read\ndisplayName: Read docs\n", "actions", "create", "--tenant", "acme", "-f", "-")
	mustIamctl(t, env, "displayName: Read documents\nmetadata: {version: 1}\n", "actions", "update", "doc.read", "--tenant", "acme", "-f", "-")
	if got := mustIamctl(t, env, "", "actions", "get", "doc.read", "--tenant", "acme", "-o", "json"); !strings.Contains(got, `"Read documents"`) || !strings.Contains(got, `"version": 2`) {
		t.Errorf("action after update:\n%s", got)
	}
	if _, err := iamctl(t, env, "displayName: x\nmetadata: {version: 1}\n", "actions", "update", "doc.read", "--tenant", "acme", "-f", "-"); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("stale action update: %v", err)
	}
	mustIamctl(t, env, "", "actions", "delete", "doc.read", "--tenant", "acme")
	if _, err := iamctl(t, env, "", "actions", "get", "doc.read", "--tenant", "acme"); err == nil {
		t.Error("a deleted action was read")
	}

	source := `scopes:
  - name: billing.invoices_read
    displayName: Read invoices
clients:
  - name: Billing
    scopes: [iam.user_read, billing.invoices_read]
groups:
  - id: ops
    name: {en: Operations, de: Betrieb}
  - id: eng
    name: {en: Engineering}
    groups: [ops]
users:
  - username: ada
    email: ada@example.com
    groups: [ops]
policies:
  - {subject: group-eng, scope: /docs, action: doc.read}
  - {subject: "user:ada", scope: /, action: iam.user_read}
consents:
  - {name: marketing, description: Newsletters, canBeWithdrawn: true, piiCategories: [email]}
consentActions:
  - {name: signup, description: asked at sign-up}
`
	first := mustIamctl(t, env, source, "apply", "--tenant", "globex", "-f", "-")
	if !strings.Contains(first, `client "Billing" created`) || !strings.Contains(first, `user "ada" created`) {
		t.Errorf("first apply:\n%s", first)
	}
	exported := mustIamctl(t, env, "", "export", "--tenant", "globex")
	for _, want := range []string{"name: billing.invoices_read", "name: Billing", "id: eng", "- ops", "username: ada", "user:ada", "name: marketing", "name: signup"} {
		if !strings.Contains(exported, want) {
			t.Errorf("export lacks %q:\n%s", want, exported)
		}
	}
	if strings.Contains(exported, "secret") {
		t.Errorf("export shows a secret:\n%s", exported)
	}
	if again := mustIamctl(t, env, exported, "apply", "--tenant", "globex", "-f", "-"); again != "" {
		t.Errorf("applying the export again changed things:\n%s", again)
	}
	// The same file builds another tenant.
	copied := mustIamctl(t, env, exported, "apply", "--tenant", "initech", "-f", "-")
	if !strings.Contains(copied, `group eng applied`) {
		t.Errorf("copy:\n%s", copied)
	}

	// Consent actions: get, edit what get printed and update it (guarded by its version),
	// apply puts the file's description back, delete.
	got := mustIamctl(t, env, "", "consent-actions", "get", "signup", "--tenant", "globex", "-o", "json")
	if !strings.Contains(got, `"name": "signup"`) || !strings.Contains(got, `"version": 1`) {
		t.Fatalf("get:\n%s", got)
	}
	edited := strings.Replace(got, "asked at sign-up", "asked at sign-up and at checkout", 1)
	updated := mustIamctl(t, env, edited, "consent-actions", "update", "signup", "--tenant", "globex", "-o", "json", "-f", "-")
	if !strings.Contains(updated, `"version": 2`) || !strings.Contains(updated, "at checkout") {
		t.Errorf("update:\n%s", updated)
	}
	if out, err := iamctl(t, env, edited, "consent-actions", "update", "signup", "--tenant", "globex", "-f", "-"); err == nil || !strings.Contains(out, "409") {
		t.Errorf("an update based on a stale version: %v\n%s", err, out)
	}
	if back := mustIamctl(t, env, source, "apply", "--tenant", "globex", "-f", "-"); !strings.Contains(back, `consent action "signup" updated`) {
		t.Errorf("apply after a change:\n%s", back)
	}
	mustIamctl(t, env, "", "consent-actions", "delete", "signup", "--tenant", "globex")
	if out, err := iamctl(t, env, "", "consent-actions", "get", "signup", "--tenant", "globex"); err == nil || !strings.Contains(out, "404") {
		t.Errorf("get after delete: %v\n%s", err, out)
	}
}

// TestRBAC covers the RBAC nouns through the CLI, and RBAC in export/apply: the tenant
// file names no ids, so it re-applies to the same tenant as a no-op and builds a fresh
// tenant whose export is the same file.
func TestRBAC(t *testing.T) {
	stack, env := startStack(t)
	mustIamctl(t, env, "", "login", "--url", stack.URL, "--client-id", "ctl-admin", "--client-secret", "ctl-admin-secret")

	// create answers the new entity as JSON; its id and version come back.
	type entity struct {
		ID       string   `json:"id"`
		Scopes   []string `json:"scopes"`
		Metadata struct {
			Version int64 `json:"version"`
		} `json:"metadata"`
	}
	run := func(stdin string, args ...string) entity {
		t.Helper()
		out := mustIamctl(t, env, stdin, append(args, "--tenant", "acme", "-o", "json")...)
		var e entity
		if err := json.Unmarshal([]byte(out), &e); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return e
	}
	res := run("code: iam.group\nname: {en: Groups, de: Gruppen}\n", "resources", "create", "-f", "-")
	if got := run("", "resources", "get", res.ID); got.ID != res.ID || got.Metadata.Version != 1 {
		t.Errorf("get resource: %+v", got)
	}
	changed := `{"code": "iam.group", "name": {"en": "IAM groups"}, "metadata": {"version": 1}}`
	if got := run(changed, "resources", "update", res.ID, "-f", "-"); got.Metadata.Version != 2 {
		t.Errorf("update resource: %+v", got)
	}
	if out, err := iamctl(t, env, changed, "resources", "update", res.ID, "-f", "-", "--tenant", "acme"); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("a stale update: %v\n%s", err, out)
	}
	table := mustIamctl(t, env, "", "resources", "list", "--tenant", "acme")
	if !strings.Contains(table, "CODE") || !strings.Contains(table, "iam.group") || !strings.Contains(table, "en=IAM groups") {
		t.Errorf("resources table:\n%s", table)
	}
	perm := run(fmt.Sprintf(`{"name": {"en": "Read"}, "code": "read", "applicableResources": [%q]}`, res.ID), "permissions", "create", "-f", "-")
	role := run(fmt.Sprintf(`{"name": {"en": "Reader"}, "permissions": [{"id": %q}]}`, perm.ID), "roles", "create", "-f", "-")
	ac := run(fmt.Sprintf(`{"name": {"en": "Read groups"}, "roleId": %q, "resourceId": %q}`, role.ID, res.ID), "access-controls", "create", "-f", "-")
	if !slices.Equal(ac.Scopes, []string{"iam.group_read"}) {
		t.Errorf("access control scopes: %v", ac.Scopes)
	}
	tpl := run(fmt.Sprintf(`{"name": {"en": "Group readers"}, "accessControls": [%q]}`, ac.ID), "templates", "create", "-f", "-")
	if got := run(fmt.Sprintf(`{"name": {"en": "Group readers"}, "description": {"en": "read-only"}, "accessControls": [%q], "metadata": {"version": 1}}`, ac.ID),
		"templates", "update", tpl.ID, "-f", "-"); got.Metadata.Version != 2 {
		t.Errorf("update template: %+v", got)
	}
	assignment := fmt.Sprintf(`{"subject": "group-ops", "templateId": %q}`, tpl.ID)
	asg := run(assignment, "assignments", "create", "-f", "-")
	if again := run(assignment, "assignments", "create", "-f", "-"); again.ID != asg.ID {
		t.Errorf("assigning again made another assignment: %s, %s", asg.ID, again.ID)
	}
	if table := mustIamctl(t, env, "", "assignments", "list", "--tenant", "acme"); !strings.Contains(table, asg.ID) || !strings.Contains(table, "group-ops") {
		t.Errorf("assignments table:\n%s", table)
	}
	if out := mustIamctl(t, env, "", "effective", "scopes", "group-ops", "--tenant", "acme"); !strings.Contains(out, "iam.group_read") {
		t.Errorf("effective scopes:\n%s", out)
	}
	if out := mustIamctl(t, env, "", "effective", "permissions", "group-ops", "iam.group", "--tenant", "acme"); !strings.Contains(out, "read") || !strings.Contains(out, perm.ID) {
		t.Errorf("effective permissions:\n%s", out)
	}
	if out := mustIamctl(t, env, "", "effective", "access-controls", "group-ops", "--tenant", "acme"); !strings.Contains(out, ac.ID) {
		t.Errorf("effective access controls:\n%s", out)
	}
	if out, err := iamctl(t, env, "", "resources", "delete", res.ID, "--tenant", "acme"); err == nil {
		t.Errorf("deleted a resource still referenced:\n%s", out)
	}
	for _, del := range [][2]string{{"assignments", asg.ID}, {"templates", tpl.ID}, {"access-controls", ac.ID}, {"roles", role.ID},
		{"permissions", perm.ID}, {"resources", res.ID}} {
		mustIamctl(t, env, "", del[0], "delete", del[1], "--tenant", "acme")
	}
	if out, err := iamctl(t, env, "", "resources", "get", res.ID, "--tenant", "acme"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("a deleted resource: %v\n%s", err, out)
	}
	// Names are the tenant file's keys: two permissions named alike cannot be exported.
	res = run("code: billing.invoice\nname: {en: Invoices}\n", "resources", "create", "-f", "-")
	for range 2 {
		run(fmt.Sprintf(`{"name": {"en": "Read"}, "code": "read", "applicableResources": [%q]}`, res.ID), "permissions", "create", "-f", "-")
	}
	if out, err := iamctl(t, env, "", "export", "--tenant", "acme"); err == nil || !strings.Contains(err.Error(), `2 permissions are named "Read"`) {
		t.Errorf("export with two permissions named Read: %v\n%s", err, out)
	}

	source := `clients:
  - name: Billing
    scopes: [iam.user_read]
groups:
  - id: ops
    name: {en: Operations}
users:
  - username: ada
    groups: [ops]
resources:
  - code: iam.group
    name: {en: Groups, de: Gruppen}
  - code: iam.user
    name: {en: Users}
    description: {en: People who log in}
permissions:
  - name: {en: Read}
    code: read
    resources: [iam.group, iam.user]
  - name: {en: Manage}
    code: manage
    resources: [iam.group]
roles:
  - name: {en: Reader}
    permissions:
      - permission: Read
  - name: {de: Gruppenverwalter}
    permissions:
      - permission: Read
        resources: [iam.group]
      - permission: Manage
accessControls:
  - name: {en: Read users}
    role: Reader
    resource: iam.user
  - name: {en: Manage groups}
    role: Gruppenverwalter
    resource: iam.group
templates:
  - name: {en: Admins}
    accessControls: [Read users, Manage groups]
assignments:
  - {subject: group-ops, template: Admins}
  - {subject: "user:ada", accessControl: Read users}
  - {subject: "client:Billing", accessControl: Manage groups}
`
	first := mustIamctl(t, env, source, "apply", "--tenant", "umbrella", "-f", "-")
	for _, want := range []string{`resource "iam.user" created`, `role "Gruppenverwalter" created`, `template "Admins" created`,
		`access control "Read users" assigned to user:ada`, `template "Admins" assigned to group-ops`} {
		if !strings.Contains(first, want) {
			t.Errorf("first apply lacks %q:\n%s", want, first)
		}
	}
	if again := mustIamctl(t, env, source, "apply", "--tenant", "umbrella", "-f", "-"); again != "" {
		t.Errorf("applying the source again changed things:\n%s", again)
	}
	exported := mustIamctl(t, env, "", "export", "--tenant", "umbrella")
	for _, want := range []string{"code: iam.user", "- permission: Read", "role: Gruppenverwalter", "- Manage groups", "subject: user:ada",
		"subject: client:Billing", "template: Admins"} {
		if !strings.Contains(exported, want) {
			t.Errorf("export lacks %q:\n%s", want, exported)
		}
	}
	if again := mustIamctl(t, env, exported, "apply", "--tenant", "umbrella", "-f", "-"); again != "" {
		t.Errorf("applying the export again changed things:\n%s", again)
	}
	// A fresh tenant: the ids all differ, the file does not.
	mustIamctl(t, env, exported, "apply", "--tenant", "hooli", "-f", "-")
	if copied := mustIamctl(t, env, "", "export", "--tenant", "hooli"); copied != exported {
		t.Errorf("the copy exports differently:\n%s\nthe original:\n%s", copied, exported)
	}
	if again := mustIamctl(t, env, exported, "apply", "--tenant", "hooli", "-f", "-"); again != "" {
		t.Errorf("applying to the copy again changed things:\n%s", again)
	}
	// A change in the file is an update, resolved by key.
	var f tenantFile
	if err := yaml.Unmarshal([]byte(exported), &f); err != nil {
		t.Fatal(err)
	}
	f.Resources[slices.IndexFunc(f.Resources, func(r fileResource) bool { return r.Code == "iam.user" })].Description = map[string]string{"en": "Everyone"}
	f.Templates[0].AccessControls = []string{"Read users"}
	raw, _ := yaml.Marshal(f)
	edited := string(raw)
	out := mustIamctl(t, env, edited, "apply", "--tenant", "hooli", "-f", "-")
	if !strings.Contains(out, `resource "iam.user" updated`) || !strings.Contains(out, `template "Admins" updated`) {
		t.Errorf("applying an edit:\n%s\nthe file:\n%s", out, edited)
	}
}

// TestMoreThanAPage: lists longer than the API's largest page (200) are read whole, by
// list, export and apply (which compares against the tenant's current state).
func TestMoreThanAPage(t *testing.T) {
	stack, env := startStack(t)
	mustIamctl(t, env, "", "login", "--url", stack.URL, "--client-id", "ctl-admin", "--client-secret", "ctl-admin-secret")

	// 230 groups, all of them nested in one more: 231 groups, and a group of 230 members.
	const n = 230
	var source strings.Builder
	source.WriteString("groups:\n  - id: all\n    name: {en: All}\n    groups:\n")
	for i := range n {
		fmt.Fprintf(&source, "      - g%03d\n", i)
	}
	for i := range n {
		fmt.Fprintf(&source, "  - id: g%03d\n    name: {en: Group %d}\n", i, i)
	}
	mustIamctl(t, env, source.String(), "apply", "--tenant", "acme", "-f", "-")

	exported := mustIamctl(t, env, "", "export", "--tenant", "acme")
	var f tenantFile
	if err := yaml.Unmarshal([]byte(exported), &f); err != nil {
		t.Fatal(err)
	}
	all := slices.IndexFunc(f.Groups, func(g fileGroup) bool { return g.ID == "all" })
	if len(f.Groups) != n+1 || all < 0 || len(f.Groups[all].Groups) != n {
		t.Fatalf("export has %d groups (want %d), the group all %d members (want %d)", len(f.Groups), n+1, len(f.Groups[max(all, 0)].Groups), n)
	}
	if again := mustIamctl(t, env, exported, "apply", "--tenant", "acme", "-f", "-"); again != "" {
		t.Errorf("applying the export again changed things:\n%s", again)
	}

	var list struct {
		Total int              `json:"total"`
		Data  []map[string]any `json:"data"`
	}
	out := mustIamctl(t, env, "", "groups", "list", "--tenant", "acme", "-o", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Data) != n+1 || list.Total != n+1 {
		t.Errorf("groups list: %d groups, total %d; want %d", len(list.Data), list.Total, n+1)
	}
	if table := mustIamctl(t, env, "", "groups", "list", "--tenant", "acme"); strings.Count(table, "\n") != n+2 {
		t.Errorf("groups table has %d lines, want a header and %d rows", strings.Count(table, "\n"), n+1)
	}
}
