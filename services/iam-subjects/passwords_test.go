package iamsubjects_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"

	"github.com/iamplane/iam/services/iam-subjects/api"
	"github.com/iamplane/iam/services/iam-subjects/internal/signin"
)

func TestPasswords(t *testing.T) {
	t.Parallel()
	s := mustStart(t, map[string]string{"IAM_LOGIN_FAILURES_FREE": "1"})
	ctx := context.Background()
	jane := s.mustPerson(t, "jane", "correct horse battery")

	t.Run("the rules, each a 422 naming the field", func(t *testing.T) {
		margaret := s.mustUser(t, "margaret.h")
		for name, tc := range map[string]struct{ user, password, message string }{
			"too short":    {jane.Id, "short", "at least 8"},
			"empty":        {jane.Id, "", "at least 8"},
			"too common":   {jane.Id, "Password123", "most common"},
			"too long":     {jane.Id, strings.Repeat("x1", 129), "at most 256"},
			"the username": {margaret.Id, "Margaret.H", "username or email"},
		} {
			t.Run(name, func(t *testing.T) {
				resp, err := s.admin.SetUserPasswordWithResponse(ctx, "acme", uuid(t, tc.user), api.PasswordInput{Password: tc.password})
				if err != nil || resp.StatusCode() != 422 || problemType(t, resp.Body) != "invalid" ||
					!strings.Contains(string(resp.Body), `"field":"password"`) || !strings.Contains(string(resp.Body), tc.message) {
					t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
				}
			})
		}
		b := s.browser(t)
		b.signedIn(t, "jane", "correct horse battery") // none of them was set
	})

	t.Run("who may set a password", func(t *testing.T) {
		reader := s.as(t, s.Issuer.Token(t, "acme", "client-reader", "iam.user_read"))
		if resp, _ := reader.SetUserPasswordWithResponse(ctx, "acme", uuid(t, jane.Id), api.PasswordInput{Password: "a new passphrase"}); resp.StatusCode() != 403 {
			t.Fatalf("iam.user_read: %d %s", resp.StatusCode(), resp.Body)
		}
		updater := s.as(t, s.Issuer.Token(t, "acme", "client-hr", "iam.user_update"))
		if resp, _ := updater.SetUserPasswordWithResponse(ctx, "acme", uuid(t, jane.Id), api.PasswordInput{Password: "correct horse battery"}); resp.StatusCode() != 204 {
			t.Fatalf("iam.user_update: %d %s", resp.StatusCode(), resp.Body)
		}
		unknown, _ := s.admin.SetUserPasswordWithResponse(ctx, "acme", uuid(t, "00000000-0000-0000-0000-000000000000"), api.PasswordInput{Password: "a new passphrase"})
		if unknown.StatusCode() != 404 {
			t.Fatalf("unknown user: %d %s", unknown.StatusCode(), unknown.Body)
		}
	})

	t.Run("an administrator's reset ends the user's sessions", func(t *testing.T) {
		b := s.browser(t)
		b.signedIn(t, "jane", "correct horse battery")
		s.mustSetPassword(t, jane.Id, "a brand new passphrase")
		challenge, _ := s.loginChallenge(t, "acme", nil, time.Now())
		form := b.open(t, challenge)
		wantPage(t, form, http.StatusOK, `id="password"`)
		wantPage(t, b.signIn(t, form, "jane", "correct horse battery"), http.StatusUnauthorized, "Wrong username or password.")
		s.verdict(t, b.signIn(t, form, "jane", "a brand new passphrase"))
		jane.password = "a brand new passphrase"
	})

	t.Run("a person changes their own password", func(t *testing.T) {
		me := s.as(t, s.Issuer.Token(t, "acme", "user-"+jane.Id))
		b := s.browser(t)
		b.signedIn(t, "jane", jane.password)

		wrong, _ := me.ChangeMyPasswordWithResponse(ctx, "acme", api.PasswordChange{CurrentPassword: "not it", NewPassword: "yet another passphrase"})
		if wrong.StatusCode() != 422 || !strings.Contains(string(wrong.Body), `"field":"currentPassword"`) {
			t.Fatalf("wrong current password: %d %s", wrong.StatusCode(), wrong.Body)
		}
		weak, _ := me.ChangeMyPasswordWithResponse(ctx, "acme", api.PasswordChange{CurrentPassword: jane.password, NewPassword: "qwerty123"})
		if weak.StatusCode() != 422 || !strings.Contains(string(weak.Body), `"field":"newPassword"`) {
			t.Fatalf("a common new password: %d %s", weak.StatusCode(), weak.Body)
		}
		ok, _ := me.ChangeMyPasswordWithResponse(ctx, "acme", api.PasswordChange{CurrentPassword: jane.password, NewPassword: "yet another passphrase"})
		if ok.StatusCode() != 204 {
			t.Fatalf("change: %d %s", ok.StatusCode(), ok.Body)
		}
		challenge, _ := s.loginChallenge(t, "acme", nil, time.Now())
		form := b.open(t, challenge)
		wantPage(t, form, http.StatusOK, `id="password"`) // the session ended
		s.verdict(t, b.signIn(t, form, "jane", "yet another passphrase"))
		jane.password = "yet another passphrase"

		client := s.as(t, s.Issuer.Token(t, "acme", "client-app"))
		if resp, _ := client.ChangeMyPasswordWithResponse(ctx, "acme", api.PasswordChange{CurrentPassword: "x", NewPassword: "a fine passphrase"}); resp.StatusCode() != 403 {
			t.Fatalf("a client: %d %s", resp.StatusCode(), resp.Body)
		}
		gone := s.as(t, s.Issuer.Token(t, "acme", "user-00000000-0000-0000-0000-000000000000"))
		if resp, _ := gone.ChangeMyPasswordWithResponse(ctx, "acme", api.PasswordChange{CurrentPassword: "x", NewPassword: "a fine passphrase"}); resp.StatusCode() != 404 {
			t.Fatalf("no such user: %d %s", resp.StatusCode(), resp.Body)
		}
		if resp, _ := s.as(t, "").ChangeMyPasswordWithResponse(ctx, "acme", api.PasswordChange{CurrentPassword: "x", NewPassword: "a fine passphrase"}); resp.StatusCode() != 401 {
			t.Fatalf("no token: %d %s", resp.StatusCode(), resp.Body)
		}
	})

	t.Run("guessing the current password is throttled", func(t *testing.T) {
		carl := s.mustPerson(t, "carl", "carl's own passphrase")
		me := s.as(t, s.Issuer.Token(t, "acme", "user-"+carl.Id))
		guess := func() *api.ChangeMyPasswordResponse {
			resp, _ := me.ChangeMyPasswordWithResponse(ctx, "acme", api.PasswordChange{CurrentPassword: "a guess", NewPassword: "a fine passphrase"})
			return resp
		}
		if a, b := guess(), guess(); a.StatusCode() != 422 || b.StatusCode() != 422 {
			t.Fatalf("%d %d", a.StatusCode(), b.StatusCode())
		}
		limited := guess()
		if limited.StatusCode() != 429 || limited.HTTPResponse.Header.Get("Retry-After") != "1" || problemType(t, limited.Body) != "too-many-attempts" {
			t.Fatalf("%d %q %s", limited.StatusCode(), limited.HTTPResponse.Header.Get("Retry-After"), limited.Body)
		}
	})

	t.Run("an outdated hash is remade at the next sign-in", func(t *testing.T) {
		weak := signin.Argon2id{Memory: 8 * 1024, Time: 1, Threads: 1}.Hash(jane.password)
		if _, err := s.DB.Exec(`UPDATE user_passwords SET hash = $1 WHERE user_id = $2`, weak, jane.Id); err != nil {
			t.Fatal(err)
		}
		s.browser(t).signedIn(t, "jane", jane.password)
		var hash string
		if err := s.DB.Get(&hash, `SELECT hash FROM user_passwords WHERE user_id = $1`, jane.Id); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Fatalf("not rehashed: %s", hash)
		}
		s.browser(t).signedIn(t, "jane", jane.password)
	})

	t.Run("no event or answer carries a password or its hash", func(t *testing.T) {
		// A last change to jane after all of the above: once its event is on the stream,
		// so is every earlier one.
		cur, _ := s.admin.GetUserWithResponse(ctx, "acme", uuid(t, jane.Id), nil)
		if strings.Contains(string(cur.Body), "assword") || strings.Contains(string(cur.Body), "argon2") {
			t.Fatalf("the user resource shows a password: %s", cur.Body)
		}
		resp, err := s.admin.ReplaceUserWithResponse(ctx, "acme", uuid(t, jane.Id), nil, api.UserInput{Username: ptr("jane"),
			Department: ptr("Last"), Metadata: &api.MetadataInput{Version: cur.JSON200.Metadata.Version}})
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %s", err, resp.Body)
		}
		s.published(t, "iam.acme.subjects.user."+jane.Id, func(ev events.Envelope) bool {
			var u schema.UserState
			return json.Unmarshal(ev.Data, &u) == nil && u.Username != nil && strings.Contains(string(ev.Data), "jane")
		})
		for _, raw := range s.streamMessages(t) {
			for _, secret := range []string{"correct horse battery", "a brand new passphrase", "yet another passphrase", "argon2", "assword"} {
				if strings.Contains(raw, secret) {
					t.Errorf("an event carries %q: %s", secret, raw)
				}
			}
		}
	})
}

// streamMessages returns every message on the event stream, as text.
func (s *stack) streamMessages(tb testing.TB) []string {
	tb.Helper()
	ctx := context.Background()
	stream, err := s.JetStream.Stream(ctx, events.StreamName)
	if err != nil {
		tb.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && seq > 0; seq++ {
		if msg, err := stream.GetMsg(ctx, seq); err == nil {
			out = append(out, msg.Subject+" "+string(msg.Data))
		}
	}
	if len(out) == 0 {
		tb.Fatal("the stream is empty")
	}
	return out
}

func TestUserEventsCarryWhatUserinfoShows(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	resp, err := s.admin.CreateUserWithResponse(ctx, "acme", api.UserInput{Username: ptr("ola"), Email: ptr(apiEmail("ola@example.no")),
		EmailVerified: ptr(true), FirstName: ptr("Ola"), LastName: ptr("Nordmann"), PhoneNumber: ptr("+47 123 45 678"),
		PreferredLanguage: ptr("nb")})
	if err != nil || resp.JSON201 == nil || !resp.JSON201.EmailVerified {
		t.Fatalf("%v %s", err, resp.Body)
	}
	ev := s.published(t, "iam.acme.subjects.user."+resp.JSON201.Id, func(events.Envelope) bool { return true })
	var u schema.UserState
	if err := json.Unmarshal(ev.Data, &u); err != nil {
		t.Fatal(err)
	}
	if u.EmailVerified == nil || !*u.EmailVerified || deref(u.FirstName) != "Ola" || deref(u.LastName) != "Nordmann" ||
		deref(u.PhoneNumber) != "+47 123 45 678" || deref(u.PreferredLanguage) != "nb" || deref(u.Email) != "ola@example.no" {
		t.Fatalf("event %s", ev.Data)
	}

	// A replacement without emailVerified says it is not (PUT replaces every field).
	put, err := s.admin.ReplaceUserWithResponse(ctx, "acme", uuid(t, resp.JSON201.Id), nil, api.UserInput{Username: ptr("ola"),
		Email: ptr(apiEmail("ola@other.example")), Metadata: &api.MetadataInput{Version: 1}})
	if err != nil || put.JSON200 == nil || put.JSON200.EmailVerified {
		t.Fatalf("%v %s", err, put.Body)
	}
	s.published(t, "iam.acme.subjects.user."+resp.JSON201.Id, func(ev events.Envelope) bool {
		var u schema.UserState
		return json.Unmarshal(ev.Data, &u) == nil && u.EmailVerified != nil && !*u.EmailVerified && deref(u.Email) == "ola@other.example"
	})
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
