package scopes_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/iamplane/iam/services/oauth-clients/internal/scopes"
)

// specs are the four services' APIs, relative to this package.
var specs = []string{"oauth-clients", "iam-subjects", "iam-policies", "consent"}

// TestPlatformMatchesSpecs keeps the checked-in list of built-in scopes equal to the
// scopes the four specs declare in their security schemes.
func TestPlatformMatchesSpecs(t *testing.T) {
	declared := map[string]string{} // scope -> the spec declaring it first
	for _, name := range specs {
		path := filepath.Join("..", "..", "..", "..", "openapi", name+".yaml")
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Components struct {
				SecuritySchemes map[string]struct {
					Flows map[string]struct {
						Scopes map[string]string `yaml:"scopes"`
					} `yaml:"flows"`
				} `yaml:"securitySchemes"`
			} `yaml:"components"`
		}
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, scheme := range doc.Components.SecuritySchemes {
			for _, flow := range scheme.Flows {
				for s := range flow.Scopes {
					if _, ok := declared[s]; !ok {
						declared[s] = name
					}
				}
			}
		}
	}
	for s, spec := range declared {
		if !scopes.IsPlatform(s) {
			t.Errorf("openapi/%s.yaml declares scope %q: add it to scopes.Platform (internal/scopes/platform.go)", spec, s)
		}
	}
	for _, s := range scopes.PlatformNames() {
		if _, ok := declared[s]; !ok {
			t.Errorf("scopes.Platform lists %q, which no spec declares: remove it", s)
		}
	}
	seen := map[string]bool{}
	for _, p := range scopes.Platform {
		if seen[p.Name] || !scopes.ValidName(p.Name) || p.DisplayName == "" || p.Description == "" {
			t.Errorf("built-in %+v: duplicate, invalid name or missing text", p)
		}
		seen[p.Name] = true
	}
}

func TestSubjectTokenRoundTrips(t *testing.T) {
	for _, name := range []string{"services.iam", "a.b.c", "urn:x:y", "plain"} {
		tok := scopes.SubjectToken(name)
		if slices.Contains([]rune(tok), '.') || scopes.NameOfToken(tok) != name {
			t.Errorf("%q -> %q -> %q", name, tok, scopes.NameOfToken(tok))
		}
	}
}
