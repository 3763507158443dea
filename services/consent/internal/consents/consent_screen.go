package consents

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/handshake"
)

// The consent screen is consent's part of the sign-in handshake (package handshake):
// oauth-clients sends the browser here with a signed ConsentChallenge; the screen asks the
// person what is not yet granted (the client's scopes and the consents of its consent
// action), records the answer with the grants' own rules, and sends the browser back with a
// ConsentVerdict signed by this service's keys. No other service is called: clients and
// scope definitions come from consent's views of oauth-clients' events.

// ScreenClient is consent's view of a client, as the consent screen shows it.
type ScreenClient struct {
	ID, Name           string
	LogoURI, ClientURI string
	PolicyURI, TosURI  string
	ConsentActionID    string // the consent action whose consents it asks for; "" for none
	Trusted            bool   // a first-party client: the screen skips its scopes (never a required consent)
}

// ScopeText is a scope as its definition (the tenant's, or a built-in one) names it;
// DisplayName is empty for a scope consent has no definition of.
type ScopeText struct {
	Name, DisplayName, Description string
}

// ScreenConsent is one consent of a client's consent action as it stands for a subject.
type ScreenConsent struct {
	ID, Name, Description string
	Texts                 map[string]ConsentText
	Required              bool
	CanBeWithdrawn        bool
	ValidFrom             *time.Time
	CurrentVersion        int64
	GrantedVersion        *int64 // the subject's grant, at whatever version; nil for none
}

// Accepted reports whether the subject granted the consent at its current version.
func (c ScreenConsent) Accepted() bool {
	return c.GrantedVersion != nil && *c.GrantedVersion == c.CurrentVersion
}

// Choice reports whether the screen lets the person tick or untick the consent: all but an
// accepted one that is required or cannot be withdrawn (the screen shows those as accepted).
func (c ScreenConsent) Choice() bool {
	return !c.Accepted() || (!c.Required && c.CanBeWithdrawn)
}

// ScreenState is everything a consent screen of a subject for a client depends on.
type ScreenState struct {
	Client ScreenClient
	// ActionID is the id of the client's consent action ("" when it has none, or it is gone).
	ActionID string
	// Access is the scopes the subject let the client have, HasAccess whether it let it in.
	Access    []string
	HasAccess bool
	// Scopes are the definitions of the challenge's scopes, by name (undefined ones absent).
	Scopes map[string]ScopeText
	// Consents are those of the client's consent action that exist, in the action's order.
	Consents []ScreenConsent
	// ChallengeUsed reports that the challenge was answered before.
	ChallengeUsed bool
}

// ScreenRecord is what a consent screen's answer records, all in one transaction.
type ScreenRecord struct {
	Subject string
	// Challenge is the challenge's id, now used; it is remembered until ChallengeExpiresAt.
	Challenge          string
	ChallengeExpiresAt time.Time
	// Grants change the subject's consent grants, with RecordGrants' ledger events (the
	// rule of every grant change, grantLedger).
	Grants       []GrantRequest
	RecordGrants func(found []*Consent) ([]LedgerEvent, error)
	// Access, if set, is the client access the subject gives.
	Access *AccessGrant
	// Ledger are further ledger events (a declined client).
	Ledger []LedgerEvent
}

// ErrChallengeUsed answers a consent challenge that was answered before.
var ErrChallengeUsed = errs.E(errs.Conflict, "this consent challenge has already been used")

// ScreenStore persists what the consent screen reads and records.
type ScreenStore interface {
	// ScreenState reads the state of subject's screen for clientID: errs.NotFound when the
	// tenant has no such client; scopes are the challenge's, challenge its id.
	ScreenState(ctx context.Context, tenant, subject, clientID, challenge string, scopes []string) (*ScreenState, error)
	// RecordScreen records r in one transaction: first the challenge as used
	// (ErrChallengeUsed, and nothing recorded, if it was), then the client access as
	// GrantClientAccess does, the grant changes as GrantStore.ChangeGrants does (any error
	// of RecordGrants changes nothing), and the further ledger events.
	RecordScreen(ctx context.Context, tenant string, r ScreenRecord) error
	// PruneChallenges forgets the used challenges that expired before t.
	PruneChallenges(ctx context.Context, t time.Time) error
}

// VerdictKeys sign consent verdicts and publish their public halves (keyring.Ring).
type VerdictKeys interface {
	handshake.Signer
	JWKS(ctx context.Context) ([]jwk.Key, error)
}

// Screen is the consent screen's use cases.
type Screen struct {
	store         ScreenStore
	challengeKeys auth.KeySource
	verdictKeys   VerdictKeys
	base          string
	clock         Clock
}

// NewScreen makes the consent screen over store: challenges are verified with
// challengeKeys (oauth-clients' published keys), verdicts signed with verdictKeys; base is
// the platform's public URL (IAM_ISSUER_URL), which every issuer and address of the
// handshake derives from; clock stamps everything.
func NewScreen(store ScreenStore, challengeKeys auth.KeySource, verdictKeys VerdictKeys, base string, clock Clock) *Screen {
	return &Screen{store: store, challengeKeys: challengeKeys, verdictKeys: verdictKeys, base: base, clock: clock}
}

// Visitor is the person before the screen, as recorded with what they decide.
type Visitor struct {
	IP, Device string
	// Language picks the page's language from the challenge's ui_locales (and the
	// browser's preferences).
	Language func(uiLocales string) string
}

// ScreenOutcome is what the browser is shown: a redirect back to the authorization
// endpoint with a verdict, or the screen.
type ScreenOutcome struct {
	Redirect string
	Page     *ScreenPage
	Language string
}

// ScreenPage is the consent screen to show.
type ScreenPage struct {
	Challenge string // the challenge, for the form to bring back
	Subject   string
	Client    ScreenClient
	// Scopes are the challenge's scopes, each marked when already granted; none for a
	// trusted client, unless the client asked for the screen (prompt=consent).
	Scopes []ScreenScope
	// Consents are the client's consent action's, valid now, with the boxes' state.
	Consents []ConsentChoice
}

// ScreenScope is a scope on the screen.
type ScreenScope struct {
	ScopeText
	Granted bool // the client has it already
}

// ConsentChoice is a consent on the screen.
type ConsentChoice struct {
	ScreenConsent
	Choice  bool // shown with a box (ScreenConsent.Choice); else shown as accepted
	Checked bool // the box is ticked
	Missing bool // required, and left unticked when the person allowed
}

// Ask answers the browser that brings a consent challenge: a verdict right away when
// nothing is to be asked (or, with prompt=none, a consent_required one when something is),
// else the screen.
func (s *Screen) Ask(ctx context.Context, tenant, challenge string, v Visitor) (*ScreenOutcome, error) {
	ch, st, err := s.load(ctx, tenant, challenge)
	if err != nil {
		return nil, err
	}
	lang, now := v.Language(ch.UILocales), s.clock.now()
	p := planScreen(ch.scopes, ch.Prompt, st, now)
	switch {
	case p.ask && ch.Prompt == "none":
		return s.answer(ctx, ch, lang, handshake.ConsentVerdict{Error: handshake.ErrConsentRequired,
			ErrorDescription: "the person must be asked for consent"}, ScreenRecord{})
	case !p.ask && ch.Prompt != "consent":
		rec := ScreenRecord{}
		if scopes, changed := accessAfter(st, ch.scopes); changed {
			// Only a trusted client gets here with scopes it does not have: it is let in by
			// rule, recorded as such, so the person sees it among their clients and can
			// withdraw it.
			rec.Access = ptr(AccessGranted(ch.Subject, ch.ClientID, scopes, Implicit, v.context(lang, st.ActionID), now))
		}
		return s.answer(ctx, ch, lang, handshake.ConsentVerdict{Scope: strings.Join(ch.scopes, " ")}, rec)
	}
	return &ScreenOutcome{Page: page(challenge, ch, st, p, nil, nil), Language: lang}, nil
}

// Decide records the person's answer on the screen: allow with the consents ticked (every
// required one must be; else the screen again, naming those missing), or deny.
func (s *Screen) Decide(ctx context.Context, tenant, challenge string, allow bool, ticked []string, v Visitor) (*ScreenOutcome, error) {
	ch, st, err := s.load(ctx, tenant, challenge)
	if err != nil {
		return nil, err
	}
	lang, now := v.Language(ch.UILocales), s.clock.now()
	gc := v.context(lang, st.ActionID)
	if !allow {
		circumstances := gc.circumstances()
		circumstances["clientId"], circumstances["scopes"] = ch.ClientID, strings.Join(ch.scopes, " ")
		declined := LedgerEvent{Type: ClientAccessDenied, Subject: ch.Subject, Context: circumstances, Language: lang,
			ActionID: st.ActionID, OccurredAt: now}
		return s.answer(ctx, ch, lang, handshake.ConsentVerdict{Error: handshake.ErrAccessDenied,
			ErrorDescription: "the person declined"}, ScreenRecord{Ledger: []LedgerEvent{declined}})
	}
	p := planScreen(ch.scopes, ch.Prompt, st, now)
	tickedSet := map[string]bool{}
	for _, id := range ticked {
		tickedSet[id] = true
	}
	reqs, missing := choose(p.consents, tickedSet)
	if len(missing) > 0 {
		return &ScreenOutcome{Page: page(challenge, ch, st, p, tickedSet, missing), Language: lang}, nil
	}
	rec := ScreenRecord{Grants: reqs, RecordGrants: grantLedger(ch.Subject, reqs, gc, s.clock)}
	if scopes, changed := accessAfter(st, ch.scopes); changed {
		rec.Access = ptr(AccessGranted(ch.Subject, ch.ClientID, scopes, Explicit, gc, now))
	}
	return s.answer(ctx, ch, lang, handshake.ConsentVerdict{Scope: strings.Join(ch.scopes, " ")}, rec)
}

// VerdictKeys are the public keys that verify consent verdicts.
func (s *Screen) VerdictKeys(ctx context.Context) ([]jwk.Key, error) {
	return s.verdictKeys.JWKS(ctx)
}

// PruneChallenges forgets used challenges that have expired (they are refused as expired).
func (s *Screen) PruneChallenges(ctx context.Context) error {
	return s.store.PruneChallenges(ctx, s.clock.now())
}

// challenge is a verified consent challenge with its scopes split.
type challenge struct {
	handshake.ConsentChallenge
	scopes []string
}

// load verifies the challenge (errs.Unauthorized: invalid or expired) for tenant and reads
// the screen's state; a challenge answered before is ErrChallengeUsed, an unknown client
// errs.NotFound.
func (s *Screen) load(ctx context.Context, tenant, token string) (*challenge, *ScreenState, error) {
	if token == "" {
		return nil, nil, errs.E(errs.Unauthorized, "no consent challenge")
	}
	var ch challenge
	if err := handshake.Open(ctx, s.challengeKeys, token, handshake.TypConsentChallenge, &ch.ConsentChallenge,
		handshake.AuthorizeIssuer(s.base, tenant), handshake.AudienceConsent, tenant, s.clock.now()); err != nil {
		return nil, nil, err
	}
	if ch.Subject == "" || ch.ClientID == "" {
		return nil, nil, errs.E(errs.Unauthorized, "invalid consent challenge: no subject or client")
	}
	switch ch.Prompt {
	case "", "none", "consent":
	default:
		return nil, nil, errs.E(errs.Unauthorized, "invalid consent challenge: unknown prompt %q", ch.Prompt)
	}
	ch.scopes = scopeList(ch.Scope)
	st, err := s.store.ScreenState(ctx, tenant, ch.Subject, ch.ClientID, ch.ID, ch.scopes)
	if err != nil {
		return nil, nil, err
	}
	if st.ChallengeUsed {
		return nil, nil, ErrChallengeUsed
	}
	return &ch, st, nil
}

// answer signs the verdict v for ch, records rec with the challenge marked used, and sends
// the browser back to the authorization endpoint with it. The verdict is signed first: a
// failure to sign must not use up the challenge.
func (s *Screen) answer(ctx context.Context, ch *challenge, lang string, v handshake.ConsentVerdict, rec ScreenRecord) (*ScreenOutcome, error) {
	now := s.clock.now()
	v.Header = handshake.Header{Issuer: handshake.ConsentIssuer(s.base, ch.Tenant), Audience: handshake.AudienceAuthorize,
		ID: uuid.NewString(), Tenant: ch.Tenant}
	v.Challenge, v.Subject, v.ClientID = ch.ID, ch.Subject, ch.ClientID
	token, err := handshake.Sign(ctx, s.verdictKeys, handshake.TypConsentVerdict, &v, now, handshake.VerdictTTL)
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "cannot sign the consent verdict")
	}
	rec.Subject, rec.Challenge = ch.Subject, ch.ID
	// Kept a minute past the challenge's expiry, beyond the leeway with which Open still
	// accepts it.
	rec.ChallengeExpiresAt = time.Unix(ch.ExpiresAt, 0).Add(time.Minute)
	if err := s.store.RecordScreen(ctx, ch.Tenant, rec); err != nil {
		return nil, err
	}
	return &ScreenOutcome{Redirect: handshake.ResumeAfterConsent(s.base, ch.Tenant, token), Language: lang}, nil
}

// context is what the ledger records of the visitor, in lang, at action.
func (v Visitor) context(lang, action string) GrantContext {
	return GrantContext{IP: v.IP, Device: v.Device, Language: lang, ActionID: action}
}

// screenPlan is what a screen must ask.
type screenPlan struct {
	ask        bool            // something must be asked
	showScopes bool            // the screen lists the scopes
	consents   []ScreenConsent // the action's consents valid now
}

// planScreen decides what must be asked of the person: the challenge's scopes the client
// does not have yet (none for a trusted client), and the required consents not accepted at
// their current version (also for a trusted client). Optional consents never force the
// screen; they are offered when it is shown. A consent not valid yet is not asked.
func planScreen(scopes []string, prompt string, st *ScreenState, now time.Time) screenPlan {
	p := screenPlan{showScopes: !st.Client.Trusted || prompt == "consent"}
	if !st.Client.Trusted {
		for _, sc := range scopes {
			if !st.HasAccess || !slices.Contains(st.Access, sc) {
				p.ask = true
			}
		}
	}
	for _, c := range st.Consents {
		if c.ValidFrom != nil && now.Before(*c.ValidFrom) {
			continue
		}
		p.consents = append(p.consents, c)
		if c.Required && !c.Accepted() {
			p.ask = true
		}
	}
	return p
}

// choose turns the boxes ticked on an allowed screen into grant changes: a ticked consent
// not yet accepted at its current version is granted; an unticked one the person had
// granted is withdrawn where it can be; nothing else changes. It names the required
// consents left unticked instead, if any.
func choose(consents []ScreenConsent, ticked map[string]bool) (reqs []GrantRequest, missing []string) {
	for _, c := range consents {
		if !c.Choice() {
			continue
		}
		switch {
		case ticked[c.ID] && !c.Accepted():
			reqs = append(reqs, GrantRequest{ConsentID: c.ID, Granted: true, Type: Explicit})
		case ticked[c.ID]:
		case c.Required:
			missing = append(missing, c.ID)
		case c.GrantedVersion != nil && c.CanBeWithdrawn:
			reqs = append(reqs, GrantRequest{ConsentID: c.ID, Granted: false, Type: Explicit})
		}
	}
	if len(missing) > 0 {
		return nil, missing
	}
	return reqs, nil
}

// accessAfter is the client access once the person let the client have scopes: what it
// had and scopes (access only grows here; it is withdrawn through client access), and
// whether that is a change to record.
func accessAfter(st *ScreenState, scopes []string) ([]string, bool) {
	out, changed := slices.Clone(st.Access), !st.HasAccess
	if out == nil {
		out = []string{}
	}
	for _, sc := range scopes {
		if !slices.Contains(out, sc) {
			out, changed = append(out, sc), true
		}
	}
	return out, changed
}

// page is the screen for ch; ticked and missing carry a refused Allow's boxes.
func page(token string, ch *challenge, st *ScreenState, p screenPlan, ticked map[string]bool, missing []string) *ScreenPage {
	out := &ScreenPage{Challenge: token, Subject: ch.Subject, Client: st.Client}
	if p.showScopes {
		for _, sc := range ch.scopes {
			text, ok := st.Scopes[sc]
			if !ok {
				text = ScopeText{Name: sc}
			}
			out.Scopes = append(out.Scopes, ScreenScope{ScopeText: text, Granted: st.HasAccess && slices.Contains(st.Access, sc)})
		}
	}
	for _, c := range p.consents {
		choice := ConsentChoice{ScreenConsent: c, Choice: c.Choice(), Checked: c.Accepted(), Missing: slices.Contains(missing, c.ID)}
		if ticked != nil && choice.Choice {
			choice.Checked = ticked[c.ID]
		}
		out.Consents = append(out.Consents, choice)
	}
	return out
}

// scopeList splits a space-separated scope, without repeats, in order.
func scopeList(scope string) []string {
	var out []string
	for _, s := range strings.Fields(scope) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }
