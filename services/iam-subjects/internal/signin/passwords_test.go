package signin

import (
	"strings"
	"testing"

	"github.com/iamplane/iam/pkg/errs"
)

func TestPasswordRules(t *testing.T) {
	a := &Authenticator{common: commonPasswords()}
	user := &Credential{Username: "Jane.Doe", Email: "jane@example.com"}
	tests := []struct {
		name, password string
		ok             bool
		message        string // part of the field error's message
	}{
		{"eight characters", "k7#vq!Lm", true, ""},
		{"seven characters", "k7#vq!L", false, "at least 8"},
		{"no composition rules: a long passphrase of lower-case words", "correct horse battery staple", true, ""},
		{"spaces are characters", "        a", true, ""},
		{"256 characters", strings.Repeat("ab", 128), true, ""},
		{"257 characters", strings.Repeat("ab", 128) + "c", false, "at most 256"},
		{"characters, not bytes: eight of them in 24 bytes", "日本語のパスワード", true, ""},
		{"common", "password1", false, "most common"},
		{"common, whatever the case", "PassWord123", false, "most common"},
		{"common, localized", "passwort2025", false, "most common"},
		{"one character repeated", "zzzzzzzzzzzz", false, "most common"},
		{"the username", "jane.doe", false, "username or email"},
		{"the email", "JANE@example.com", false, "username or email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := a.checkPassword("password", normalize(tt.password), user)
			if tt.ok != (err == nil) {
				t.Fatalf("ok=%v, got %v", tt.ok, err)
			}
			if err == nil {
				return
			}
			var de *errs.Error
			if !errs.Is(err, errs.Invalid) || !asError(err, &de) || len(de.Fields) != 1 || de.Fields[0].Field != "password" ||
				!strings.Contains(de.Fields[0].Message, tt.message) {
				t.Fatalf("want a 422 naming password with %q, got %#v", tt.message, err)
			}
		})
	}
}

func asError(err error, target **errs.Error) bool {
	e, ok := err.(*errs.Error)
	*target = e
	return ok
}

func TestCommonPasswordListIsASeriousList(t *testing.T) {
	list := commonPasswords()
	if len(list) < 300 {
		t.Fatalf("only %d common passwords", len(list))
	}
	for p := range list {
		if p != strings.ToLower(p) || len([]rune(p)) < MinPasswordLength {
			t.Errorf("%q: the list holds lower-case passwords the length rule lets through", p)
		}
	}
}

func TestNormalizationMakesEquivalentInputsEqual(t *testing.T) {
	// "é" precomposed (U+00E9) and decomposed (e + U+0301), and a full-width "Ａ".
	if normalize("caf\u00e9-secret") != normalize("cafe\u0301-secret") || normalize("\uff21bcdefgh") != "Abcdefgh" {
		t.Fatal("NFKC does not unify the encodings")
	}
}

func TestHashVerifyAndRehash(t *testing.T) {
	p := DefaultArgon2id()
	h := p.Hash("correct horse battery")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("not a PHC string with OWASP's parameters: %s", h)
	}
	if h2 := p.Hash("correct horse battery"); h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if ok, rehash := p.verify(h, "correct horse battery"); !ok || rehash {
		t.Fatalf("right password: ok=%v rehash=%v", ok, rehash)
	}
	if ok, _ := p.verify(h, "correct horse batterY"); ok {
		t.Fatal("wrong password accepted")
	}
	weak := Argon2id{Memory: 8 * 1024, Time: 1, Threads: 1}.Hash("correct horse battery")
	if ok, rehash := p.verify(weak, "correct horse battery"); !ok || !rehash {
		t.Fatalf("a hash of weaker parameters: ok=%v rehash=%v, want a rehash", ok, rehash)
	}
	if ok, rehash := p.verify(weak, "wrong"); ok || rehash {
		t.Fatal("a wrong password must not trigger a rehash")
	}
	for _, bad := range []string{"", "$sha256$abc", strings.Replace(h, "m=19456", "m=99999999", 1), "$argon2id$v=19$m=19456,t=2,p=1$!!$!!"} {
		if ok, _ := p.verify(bad, "correct horse battery"); ok {
			t.Errorf("malformed hash %q verified", bad)
		}
	}
	if (Argon2id{Memory: 19 * 1024, Time: 1, Threads: 1}).weakerThan(p) != true || p.weakerThan(Argon2id{Memory: 8, Time: 1, Threads: 1}) {
		t.Error("weakerThan")
	}
}
