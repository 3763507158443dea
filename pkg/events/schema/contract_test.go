package schema

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestAsyncAPIDocumentsEveryPayload keeps the event contract for other teams complete: every
// payload schema in openapi/events.yaml is some message of openapi/asyncapi.yaml, and every
// payload asyncapi.yaml names exists.
func TestAsyncAPIDocumentsEveryPayload(t *testing.T) {
	events, err := os.ReadFile("../../../openapi/events.yaml")
	if err != nil {
		t.Fatal(err)
	}
	async, err := os.ReadFile("../../../openapi/asyncapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var defined, documented []string
	for _, m := range regexp.MustCompile(`(?m)^    ([A-Z][A-Za-z]+State):$`).FindAllSubmatch(events, -1) {
		defined = append(defined, string(m[1]))
	}
	for _, m := range regexp.MustCompile(`events\.yaml#/components/schemas/([A-Za-z]+)`).FindAllSubmatch(async, -1) {
		documented = append(documented, string(m[1]))
	}
	if len(defined) == 0 {
		t.Fatal("no payload schemas found in events.yaml")
	}
	for _, d := range defined {
		if !slices.Contains(documented, d) {
			t.Errorf("%s is published but not documented in asyncapi.yaml", d)
		}
	}
	for _, d := range documented {
		if !slices.Contains(defined, d) {
			t.Errorf("asyncapi.yaml documents %s, which events.yaml does not define", d)
		}
	}
}
