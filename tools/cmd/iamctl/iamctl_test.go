package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

func TestLoginCrudExportApply(t *testing.T) {
	ns := testenv.NewNATS(t)
	stack, err := devstack.Start(context.Background(), devstack.Options{
		Database: func(string) (string, error) { return testenv.NewDatabase(t), nil },
		NATSURL:  ns.URL(), Addr: "127.0.0.1:0", BootstrapID: "ctl-admin", BootstrapSecret: "ctl-admin-secret", Logger: testenv.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stack.Close)
	env := map[string]string{"IAMCTL_CONFIG": filepath.Join(t.TempDir(), "config.yaml")}

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
