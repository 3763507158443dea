package consent_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// The Cloudentity replay suite: every request example and documented answer of the seed's
// consent operations (testdata/cloudentity/*.json, transcribed from
// ../shared/seeds/003_*.txt), sent unchanged to the consent service, each answer checked
// against the seed's documented status and body.

// fixture reads a transcribed seed example.
func fixture(tb testing.TB, name string) map[string]any {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "cloudentity", name))
	if err != nil {
		tb.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return out
}

// sameShape lists where got departs from the seed's documented want: a field the seed
// does not document, a documented one missing (unless optional says it may be), or a
// value of another JSON type. Array elements are each compared with the seed's first; an
// empty object in the seed (HttpError's details) documents a free-form one.
func sameShape(want, got any, path string, optional func(path string) bool) []string {
	var bad []string
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an object", path, got)}
		}
		if len(w) == 0 {
			return nil
		}
		for k, gv := range g {
			wv, ok := w[k]
			if !ok {
				bad = append(bad, path+"."+k+": not a field the seed documents")
				continue
			}
			bad = append(bad, sameShape(wv, gv, path+"."+k, optional)...)
		}
		for k := range w {
			if _, ok := g[k]; !ok && !optional(path+"."+k) {
				bad = append(bad, path+"."+k+": missing")
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an array", path, got)}
		}
		if len(w) > 0 {
			for i, gv := range g {
				bad = append(bad, sameShape(w[0], gv, fmt.Sprintf("%s[%d]", path, i), func(p string) bool {
					return optional(strings.Replace(p, fmt.Sprintf("%s[%d]", path, i), path+"[]", 1))
				})...)
			}
		}
	default:
		if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) {
			bad = append(bad, fmt.Sprintf("%s: %T, want %T", path, got, want))
		}
	}
	sort.Strings(bad)
	return bad
}

func none(string) bool { return false }

func equalJSON(tb testing.TB, what string, want, got any) {
	tb.Helper()
	w, _ := json.Marshal(want)
	g, _ := json.Marshal(got)
	if string(w) != string(g) {
		tb.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// isCloudentityError checks an answer is Cloudentity's HttpError, naming field if non-"".
func isCloudentityError(tb testing.TB, what string, status int, body map[string]any, wantStatus int, field string) {
	tb.Helper()
	if status != wantStatus {
		tb.Errorf("%s: %d %v, want %d", what, status, body, wantStatus)
		return
	}
	if bad := sameShape(fixture(tb, "error.401.json"), body, "", none); len(bad) > 0 {
		tb.Errorf("%s: not Cloudentity's error shape: %v (%v)", what, bad, body)
	}
	if body["status_code"] != float64(wantStatus) {
		tb.Errorf("%s: status_code %v, want %d", what, body["status_code"], wantStatus)
	}
	if field != "" && !strings.Contains(fmt.Sprint(body), field) {
		tb.Errorf("%s: %v does not name %s", what, body, field)
	}
}

func TestCloudentityReplay(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	token := s.Issuer.Token(t, "default", "client-default-admin", "manage_consents", "view_consents")
	api := s.URL + "/api/admin/default"

	// Consents: create, list, get exactly as the seed documents them.
	status, got := do(t, http.MethodPost, api+"/consents", token, fixture(t, "create-consent.request.json"))
	if status != http.StatusCreated {
		t.Fatalf("createConsent: %d %v", status, got)
	}
	equalJSON(t, "createConsent", fixture(t, "create-consent.201.json"), got)
	status, got = do(t, http.MethodGet, api+"/consents", token, nil)
	if status != http.StatusOK {
		t.Fatalf("listConsents: %d %v", status, got)
	}
	equalJSON(t, "listConsents", fixture(t, "list-consents.200.json"), got)
	status, got = do(t, http.MethodGet, api+"/consents/1", token, nil)
	if status != http.StatusOK {
		t.Fatalf("getConsent: %d %v", status, got)
	}
	equalJSON(t, "getConsent", fixture(t, "get-consent.200.json"), got)

	// Consent actions.
	status, got = do(t, http.MethodPost, api+"/actions", token, fixture(t, "create-consent-action.request.json"))
	if status != http.StatusCreated {
		t.Fatalf("createConsentAction: %d %v", status, got)
	}
	equalJSON(t, "createConsentAction", fixture(t, "create-consent-action.201.json"), got)
	status, got = do(t, http.MethodGet, api+"/actions", token, nil)
	if status != http.StatusOK {
		t.Fatalf("listConsentActions: %d %v", status, got)
	}
	equalJSON(t, "listConsentActions", fixture(t, "list-consent-actions.200.json"), got)
	for _, ref := range []string{"1", "application_x"} {
		status, got = do(t, http.MethodGet, api+"/actions/"+ref, token, nil)
		if status != http.StatusOK {
			t.Fatalf("getConsentAction %s: %d %v", ref, status, got)
		}
		equalJSON(t, "getConsentAction "+ref, fixture(t, "get-consent-action.200.json"), got)
	}
	status, got = do(t, http.MethodPut, api+"/actions/1", token, fixture(t, "update-consent-action.request.json"))
	if status != http.StatusCreated {
		t.Fatalf("updateConsentAction: %d %v", status, got)
	}
	equalJSON(t, "updateConsentAction", fixture(t, "update-consent-action.201.json"), got)

	// Updating a consent makes a new version; the seed's example names version 1, the one
	// the change is based on.
	status, got = do(t, http.MethodPut, api+"/consents/1", token, fixture(t, "update-consent.request.json"))
	if status != http.StatusCreated {
		t.Fatalf("updateConsent: %d %v", status, got)
	}
	want := fixture(t, "update-consent.201.json")
	want["version"] = float64(2)
	equalJSON(t, "updateConsent", want, got)
	status, got = do(t, http.MethodPut, api+"/consents/1", token, fixture(t, "update-consent.request.json"))
	isCloudentityError(t, "updateConsent based on a stale version", status, got, http.StatusConflict, "")

	// The same consent through the native API: the same entity, its id and name kept.
	native := s.Issuer.Token(t, "default", "client-default-admin", "services.iam")
	status, got = do(t, http.MethodGet, s.URL+"/v1/tenants/default/consents/1", native, nil)
	if status != http.StatusOK || got["name"] != "EULA" || got["version"] != float64(2) {
		t.Fatalf("native GET of Cloudentity's consent: %d %v", status, got)
	}
	equalJSON(t, "native services", []any{
		map[string]any{"name": "string", "type": "internal", "purposes": []any{"Core Function"}, "primaryPurposes": []any{"Core Function"}},
		map[string]any{"name": "string", "type": "thirdParty", "purposes": []any{"Core Function"}, "primaryPurposes": []any{"Core Function"}},
	}, got["services"])

	t.Run("ledger", func(t *testing.T) { replayLedger(t, s.URL, api, token, native) })
	t.Run("refusals", func(t *testing.T) { replayRefusals(t, s.URL, api, token) })

	// Deletes answer 204, then 404 in Cloudentity's shape.
	for _, path := range []string{"/actions/1", "/consents/1"} {
		if status, got = do(t, http.MethodDelete, api+path, token, nil); status != http.StatusNoContent {
			t.Errorf("delete %s: %d %v", path, status, got)
		}
		status, got = do(t, http.MethodGet, api+path, token, nil)
		isCloudentityError(t, "get "+path+" after delete", status, got, http.StatusNotFound, "")
	}
}

// replayLedger grants the seed's consent through the native API, as the seed's example
// event records it, and reads the ledger in Cloudentity's shape with its filters.
func replayLedger(t *testing.T, base, api, token, native string) {
	before := time.Now().Unix()
	status, got := do(t, http.MethodPost, base+"/v1/tenants/default/consent-grants/user-peter", native, map[string]any{
		"grants":   []any{map[string]any{"consentId": "1", "granted": true, "grantType": "implicit"}},
		"context":  map[string]any{"ip": "52.14.142.76", "device": "iPhone", "location": "25.2084,55.2719"},
		"language": "en", "actionId": "1",
	})
	if status != http.StatusOK {
		t.Fatalf("grant: %d %v", status, got)
	}
	if status, got = do(t, http.MethodPost, base+"/v1/tenants/default/consent-grants/user-anna", native, map[string]any{
		"grants": []any{map[string]any{"consentId": "1", "granted": true}}}); status != http.StatusOK {
		t.Fatalf("grant: %d %v", status, got)
	}
	// The seed documents consent_granted and consent_revoked side by side in one
	// payload; an event has the one of its type. The ledger records the consent's id and
	// version, not a copy of it; the device is a free-form object.
	optional := func(p string) bool {
		return strings.HasSuffix(p, ".consent_revoked") || strings.HasSuffix(p, ".consent") || strings.Contains(p, ".device.")
	}
	seed := fixture(t, "list-privacy-ledger-events.200.json")
	seedDevice := seed["events"].([]any)[0].(map[string]any)["payload"].(map[string]any)["consent_granted"].(map[string]any)["context"].(map[string]any)
	seedDevice["device"] = map[string]any{"name": "iPhone"}

	status, got = do(t, http.MethodGet, api+"/events?sub=peter", token, nil)
	if status != http.StatusOK {
		t.Fatalf("listPrivacyLedgerEventsBySubject: %d %v", status, got)
	}
	if bad := sameShape(seed, got, "", optional); len(bad) > 0 {
		t.Errorf("events: %v\n%v", bad, got)
	}
	evs := got["events"].([]any)
	if len(evs) != 1 {
		t.Fatalf("sub=peter: %d events, want 1: %v", len(evs), got)
	}
	ev := evs[0].(map[string]any)
	act := ev["payload"].(map[string]any)["consent_granted"].(map[string]any)
	if ev["subject"] != "peter" || act["consent_id"] != "1" || act["grant_type"] != "implicit" || act["triggered_by_action"] != "1" ||
		act["language"] != "en" || fmt.Sprint(act["context"]) != "map[device:map[name:iPhone] ip:52.14.142.76 location:[25.2084 55.2719]]" {
		t.Errorf("the grant's event: %v", ev)
	}

	for _, tc := range []struct {
		query string
		want  int
	}{
		{"", 2},
		{"?sub=anna", 1},
		{"?sub=user-anna", 1},
		{"?sub=nobody", 0},
		{fmt.Sprintf("?from=%d", before), 2},
		{fmt.Sprintf("?from=%d", time.Now().Unix()+3600), 0},
		{fmt.Sprintf("?to=%d", before-3600), 0},
		{fmt.Sprintf("?sub=peter&from=0&to=%d", time.Now().Unix()+60), 1},
	} {
		status, got := do(t, http.MethodGet, api+"/events"+tc.query, token, nil)
		if status != http.StatusOK || len(got["events"].([]any)) != tc.want {
			t.Errorf("events%s: %d, %v; want %d events", tc.query, status, got, tc.want)
		}
	}
	status, got = do(t, http.MethodGet, api+"/events?from=yesterday", token, nil)
	isCloudentityError(t, "from not in Unix seconds", status, got, http.StatusBadRequest, "from")
}

// replayRefusals: what the seed's API refuses, in its error shape, naming the field.
func replayRefusals(t *testing.T, base, api, token string) {
	// withField is a seed example with one field changed (and, where given, more).
	withField := func(name string, key string, value any, more ...any) map[string]any {
		b := fixture(t, name)
		b[key] = value
		for i := 0; i+1 < len(more); i += 2 {
			b[more[i].(string)] = more[i+1]
		}
		return b
	}
	for _, tc := range []struct {
		name, method, path string
		body               map[string]any
		status             int
		field              string
	}{
		{"unknown field", http.MethodPost, "/consents", withField("create-consent.request.json", "colour", "red"), 400, "colour"},
		{"unknown parameter", http.MethodGet, "/consents?page=2", nil, 400, "page"},
		{"unknown parameter of the ledger", http.MethodGet, "/events?subject=peter", nil, 400, "subject"},
		{"another tenant's tenant_id", http.MethodPost, "/consents", withField("create-consent.request.json", "tenant_id", "other"), 422, "tenant_id"},
		{"an id taken", http.MethodPost, "/consents", withField("create-consent.request.json", "name", "EULA2"), 409, ""},
		{"a name taken", http.MethodPost, "/consents", withField("create-consent.request.json", "id", "2"), 409, ""},
		{"an id breaking the rule", http.MethodPost, "/consents", withField("create-consent.request.json", "id", "has space"), 400, "id"},
		{"no id", http.MethodPost, "/consents", withField("create-consent.request.json", "id", nil), 400, "id"},
		{"a version other than 1 on create", http.MethodPost, "/consents", withField("create-consent.request.json", "version", 4, "id", "3", "name", "consent-3"), 422, "version"},
		{"another id on update", http.MethodPut, "/consents/1", withField("update-consent.request.json", "id", "9", "version", 2), 422, "id"},
		{"an unknown consent in an action", http.MethodPost, "/actions", withField("create-consent-action.request.json", "consents",
			[]any{map[string]any{"id": "nosuch", "required": true}}), 422, "nosuch"},
		{"an unknown consent", http.MethodGet, "/consents/nosuch", nil, 404, ""},
		{"an action's consent claimed under another name", http.MethodPut, "/actions/1", withField("update-consent-action.request.json", "consents",
			[]any{map[string]any{"id": "1", "name": "Terms", "required": true}}), 422, "consents[0].name"},
	} {
		status, got := do(t, tc.method, api+tc.path, token, tc.body)
		isCloudentityError(t, tc.name, status, got, tc.status, tc.field)
	}

	status, got := do(t, http.MethodGet, api+"/consents", "", nil)
	isCloudentityError(t, "no token", status, got, http.StatusUnauthorized, "")
	other := strings.Replace(api, "/default", "/other", 1)
	status, got = do(t, http.MethodGet, other+"/consents", token, nil)
	if status != http.StatusForbidden && status != http.StatusUnauthorized {
		t.Errorf("another tenant: %d %v", status, got)
	}
	isCloudentityError(t, "another tenant", status, got, status, "")
}
