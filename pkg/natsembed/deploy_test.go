package natsembed

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/iamplane/iam/pkg/events"
)

// natsConf is the nats.conf of a deploy overlay's ConfigMap (a YAML block scalar).
func natsConf(t *testing.T, overlay string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "overlays", overlay, "nats.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var conf []string
	in := false
	for _, line := range strings.Split(string(raw), "\n") {
		switch {
		case strings.TrimSpace(line) == "nats.conf: |":
			in = true
		case in && (strings.HasPrefix(line, "    ") || line == ""):
			conf = append(conf, strings.TrimPrefix(line, "    "))
		case in:
			return strings.Join(conf, "\n") + "\n"
		}
	}
	t.Fatalf("%s: no nats.conf", overlay)
	return ""
}

// The deployed NATS servers know exactly the users and permissions the embedded one does:
// the authorization block is events.NATSAuthorization verbatim, and nats-server reads it
// into the same users, each password from its environment variable.
func TestDeployedNATSHasThePermissionModel(t *testing.T) {
	want := users(map[string]string{})
	for _, u := range events.NATSUsers() {
		t.Setenv(events.NATSPasswordVar(u.Name), "pw-"+u.Name)
	}
	t.Setenv("SERVER_NAME", "nats-0")
	for _, overlay := range []string{"dev", "prod"} {
		conf := natsConf(t, overlay)
		if !strings.Contains(conf, events.NATSAuthorization()) {
			t.Errorf("%s: nats.conf lacks events.NATSAuthorization() verbatim:\n%s", overlay, events.NATSAuthorization())
			continue
		}
		path := filepath.Join(t.TempDir(), "nats.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		opts, err := server.ProcessConfigFile(path)
		if err != nil {
			t.Fatalf("%s: nats-server refuses nats.conf: %v", overlay, err)
		}
		if len(opts.Users) != len(want) {
			t.Fatalf("%s: %d users, want %d", overlay, len(opts.Users), len(want))
		}
		for i, got := range opts.Users {
			w := want[i]
			if got.Username != w.Username || got.Password != "pw-"+w.Username {
				t.Errorf("%s: user %d is %s/%s", overlay, i, got.Username, got.Password)
			}
			if (got.Permissions == nil) != (w.Permissions == nil) {
				t.Errorf("%s: %s has permissions %+v, want %+v", overlay, got.Username, got.Permissions, w.Permissions)
				continue
			}
			if w.Permissions == nil {
				continue
			}
			if got.Permissions.Subscribe != nil || got.Permissions.Publish.Deny != nil ||
				!slices.Equal(got.Permissions.Publish.Allow, w.Permissions.Publish.Allow) {
				t.Errorf("%s: %s may publish %v, want %v", overlay, got.Username, got.Permissions.Publish, w.Permissions.Publish.Allow)
			}
			if (got.Permissions.Response == nil) != (w.Permissions.Response == nil) ||
				got.Permissions.Response != nil && *got.Permissions.Response != *w.Permissions.Response {
				t.Errorf("%s: %s responds %+v, want %+v", overlay, got.Username, got.Permissions.Response, w.Permissions.Response)
			}
		}
	}
}
