package consents

import (
	"slices"
	"testing"
	"time"
)

func version(v int64) *int64 { return &v }

func TestPlanScreen(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	eula := func(granted *int64) ScreenConsent {
		return ScreenConsent{ID: "eula", Required: true, CurrentVersion: 2, GrantedVersion: granted}
	}
	news := func(granted *int64) ScreenConsent {
		return ScreenConsent{ID: "news", CanBeWithdrawn: true, CurrentVersion: 1, GrantedVersion: granted}
	}
	for _, tc := range []struct {
		name       string
		scopes     []string
		prompt     string
		st         ScreenState
		ask        bool
		showScopes bool
		consents   []string
	}{
		{name: "first time: scopes and a required consent", scopes: []string{"openid", "read"},
			st: ScreenState{Consents: []ScreenConsent{eula(nil), news(nil)}}, ask: true, showScopes: true, consents: []string{"eula", "news"}},
		{name: "everything granted", scopes: []string{"openid", "read"},
			st:  ScreenState{HasAccess: true, Access: []string{"read", "openid"}, Consents: []ScreenConsent{eula(version(2)), news(nil)}},
			ask: false, showScopes: true, consents: []string{"eula", "news"}},
		{name: "a new scope", scopes: []string{"openid", "write"},
			st:  ScreenState{HasAccess: true, Access: []string{"openid"}, Consents: []ScreenConsent{eula(version(2))}},
			ask: true, showScopes: true, consents: []string{"eula"}},
		{name: "a new version of a required consent", scopes: []string{"openid"},
			st:  ScreenState{HasAccess: true, Access: []string{"openid"}, Consents: []ScreenConsent{eula(version(1))}},
			ask: true, showScopes: true, consents: []string{"eula"}},
		{name: "access with no scopes, none asked", scopes: nil, st: ScreenState{HasAccess: true}, ask: false, showScopes: true},
		{name: "no access yet, no scopes asked", scopes: nil, st: ScreenState{}, ask: false, showScopes: true},
		{name: "optional consents never force the screen", scopes: []string{"openid"},
			st:  ScreenState{HasAccess: true, Access: []string{"openid"}, Consents: []ScreenConsent{news(nil)}},
			ask: false, showScopes: true, consents: []string{"news"}},
		{name: "trusted: new scopes are not asked", scopes: []string{"openid", "write"},
			st:  ScreenState{Client: ScreenClient{Trusted: true}, Consents: []ScreenConsent{eula(version(2))}},
			ask: false, showScopes: false, consents: []string{"eula"}},
		{name: "trusted: a required consent's new version is", scopes: []string{"openid"},
			st:  ScreenState{Client: ScreenClient{Trusted: true}, Consents: []ScreenConsent{eula(version(1))}},
			ask: true, showScopes: false, consents: []string{"eula"}},
		{name: "trusted with prompt=consent shows its scopes", scopes: []string{"openid"}, prompt: "consent",
			st: ScreenState{Client: ScreenClient{Trusted: true}}, ask: false, showScopes: true},
		{name: "a consent not valid yet is not asked", scopes: []string{"openid"},
			st: ScreenState{HasAccess: true, Access: []string{"openid"},
				Consents: []ScreenConsent{{ID: "future", Required: true, CurrentVersion: 1, ValidFrom: &later}}},
			ask: false, showScopes: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := planScreen(tc.scopes, tc.prompt, &tc.st, now)
			var ids []string
			for _, c := range p.consents {
				ids = append(ids, c.ID)
			}
			if p.ask != tc.ask || p.showScopes != tc.showScopes || !slices.Equal(ids, tc.consents) {
				t.Errorf("ask %v, showScopes %v, consents %v; want %v, %v, %v", p.ask, p.showScopes, ids, tc.ask, tc.showScopes, tc.consents)
			}
		})
	}
}

func TestChoose(t *testing.T) {
	required := ScreenConsent{ID: "eula", Required: true, CurrentVersion: 2}
	requiredOld := ScreenConsent{ID: "eula", Required: true, CurrentVersion: 2, GrantedVersion: version(1)}
	requiredAccepted := ScreenConsent{ID: "eula", Required: true, CurrentVersion: 2, GrantedVersion: version(2)}
	optional := ScreenConsent{ID: "news", CanBeWithdrawn: true, CurrentVersion: 1}
	optionalGranted := ScreenConsent{ID: "news", CanBeWithdrawn: true, CurrentVersion: 1, GrantedVersion: version(1)}
	optionalKept := ScreenConsent{ID: "terms", CurrentVersion: 3, GrantedVersion: version(2)} // cannot be withdrawn
	grant := func(id string) GrantRequest { return GrantRequest{ConsentID: id, Granted: true, Type: Explicit} }
	withdraw := func(id string) GrantRequest { return GrantRequest{ConsentID: id, Granted: false, Type: Explicit} }
	for _, tc := range []struct {
		name     string
		consents []ScreenConsent
		ticked   []string
		reqs     []GrantRequest
		missing  []string
	}{
		{"required ticked, optional not", []ScreenConsent{required, optional}, []string{"eula"}, []GrantRequest{grant("eula")}, nil},
		{"both ticked", []ScreenConsent{required, optional}, []string{"eula", "news"}, []GrantRequest{grant("eula"), grant("news")}, nil},
		{"required left unticked", []ScreenConsent{required, optional}, []string{"news"}, nil, []string{"eula"}},
		{"an old version of a required one is not enough", []ScreenConsent{requiredOld}, nil, nil, []string{"eula"}},
		{"an accepted required one has no box", []ScreenConsent{requiredAccepted}, nil, nil, nil},
		{"an optional one unticked is withdrawn", []ScreenConsent{requiredAccepted, optionalGranted}, nil, []GrantRequest{withdraw("news")}, nil},
		{"an optional one left ticked is not granted again", []ScreenConsent{optionalGranted}, []string{"news"}, nil, nil},
		{"one that cannot be withdrawn stays", []ScreenConsent{optionalKept}, nil, nil, nil},
		{"one that cannot be withdrawn is granted at the new version", []ScreenConsent{optionalKept}, []string{"terms"}, []GrantRequest{grant("terms")}, nil},
		{"unknown ids are ignored", []ScreenConsent{optional}, []string{"other"}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ticked := map[string]bool{}
			for _, id := range tc.ticked {
				ticked[id] = true
			}
			reqs, missing := choose(tc.consents, ticked)
			if !slices.Equal(reqs, tc.reqs) || !slices.Equal(missing, tc.missing) {
				t.Errorf("reqs %+v missing %v; want %+v %v", reqs, missing, tc.reqs, tc.missing)
			}
		})
	}
}

func TestAccessAfter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		st      ScreenState
		scopes  []string
		want    []string
		changed bool
	}{
		{"no access yet", ScreenState{}, []string{"openid", "read"}, []string{"openid", "read"}, true},
		{"no access yet, no scopes", ScreenState{}, nil, []string{}, true},
		{"nothing new", ScreenState{HasAccess: true, Access: []string{"read", "openid"}}, []string{"openid"}, []string{"read", "openid"}, false},
		{"grows, never shrinks", ScreenState{HasAccess: true, Access: []string{"read"}}, []string{"openid"}, []string{"read", "openid"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := accessAfter(&tc.st, tc.scopes)
			if !slices.Equal(got, tc.want) || changed != tc.changed {
				t.Errorf("got %v %v, want %v %v", got, changed, tc.want, tc.changed)
			}
		})
	}
}

func TestCheckTexts(t *testing.T) {
	for _, tc := range []struct {
		lang string
		ok   bool
	}{
		{"en", true}, {"de-CH", true}, {"nb", true}, {"zh-Hant-TW", true}, {"gsw", true},
		{"", false}, {"EN", false}, {"english", false}, {"de_CH", false}, {"de-", false}, {"e", false}, {"de-toolongsubtag", false},
	} {
		err := checkTexts(map[string]ConsentText{tc.lang: {Title: "x"}})
		if (err == nil) != tc.ok {
			t.Errorf("%q: %v", tc.lang, err)
		}
	}
}

func TestScopeList(t *testing.T) {
	if got := scopeList("  openid read openid  write "); !slices.Equal(got, []string{"openid", "read", "write"}) {
		t.Errorf("got %v", got)
	}
}
