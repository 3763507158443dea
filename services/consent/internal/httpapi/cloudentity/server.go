// Package cloudentity serves Cloudentity's consent admin API (openapi/dialects/
// cloudentity-consent.yaml) on the consent service's use cases: each handler translates
// Cloudentity's snake_case shapes to the call the native handler makes and back, and
// nothing more. Rules stay in internal/consents.
package cloudentity

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/precondition"

	api "github.com/iamplane/iam/services/consent/api/cloudentity"
	"github.com/iamplane/iam/services/consent/internal/consents"
)

// all is the page size of Cloudentity's lists, which are not paged.
const all = 1 << 30

// maxEvents is the most ledger events one answer holds; the ledger is not paged in
// Cloudentity's API, so a wider query is refused rather than cut short.
const maxEvents = 10000

// Server implements the generated strict server interface.
type Server struct {
	book    *consents.Book
	actions *consents.Actions
}

// NewServer serves Cloudentity's consent API from book and actions.
func NewServer(book *consents.Book, actions *consents.Actions) *Server {
	return &Server{book: book, actions: actions}
}

var _ api.StrictServerInterface = (*Server)(nil)

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

// sameTenant refuses a body whose read-only tenant_id names another tenant than the path.
func sameTenant(tid string, tenantID *string) error {
	if tenantID != nil && *tenantID != tid {
		return errs.Fields("tenant_id is read-only", errs.FieldError{Field: "tenant_id", Message: "must be the path's tenant " + strconv.Quote(tid)})
	}
	return nil
}

// consentIn translates a Cloudentity consent: third-party and internal services become
// the domain's typed services, pii_categories their names. can_be_withdrawn defaults to
// false, as in Cloudentity. version is left out: the caller decides what it means.
func consentIn(tid string, in api.Consent) (consents.Consent, error) {
	if err := sameTenant(tid, in.TenantId); err != nil {
		return consents.Consent{}, err
	}
	c := consents.Consent{Tenant: tid, ID: deref(in.Id), Name: in.Name, Description: deref(in.Description),
		CanBeWithdrawn: deref(in.CanBeWithdrawn), ValidFrom: in.ValidFrom, PIICategories: []string{}, Services: []consents.Service{},
		UpdateExistingGrants: consents.Strategy(deref(in.UpdateExistingGrants))}
	for _, p := range deref(in.PiiCategories) {
		c.PIICategories = append(c.PIICategories, p.Name)
	}
	for kind, services := range map[string][]api.Service{"internal": deref(in.InternalServices), "thirdParty": deref(in.ThirdPartyServices)} {
		for _, s := range services {
			svc := consents.Service{Name: s.Name, Type: kind, Purposes: []consents.Purpose{}}
			for _, p := range deref(s.Purposes) {
				svc.Purposes = append(svc.Purposes, consents.Purpose{Name: p.Name, Primary: deref(p.Primary)})
			}
			c.Services = append(c.Services, svc)
		}
	}
	// Internal services first, each kind in the caller's order, whatever the map's order.
	internal := c.Services[:0:0]
	for _, s := range c.Services {
		if s.Type == "internal" {
			internal = append(internal, s)
		}
	}
	for _, s := range c.Services {
		if s.Type != "internal" {
			internal = append(internal, s)
		}
	}
	c.Services = internal
	return c, nil
}

func servicesOut(services []consents.Service, kind string) *[]api.Service {
	out := []api.Service{}
	for _, s := range services {
		if s.Type != kind {
			continue
		}
		purposes := make([]api.Purpose, len(s.Purposes))
		for i, p := range s.Purposes {
			purposes[i] = api.Purpose{Name: p.Name, Primary: ptr(p.Primary)}
		}
		out = append(out, api.Service{Name: s.Name, Purposes: &purposes})
	}
	return &out
}

func consentOut(c *consents.Consent) api.Consent {
	pii := make([]api.PIICategory, len(c.PIICategories))
	for i, p := range c.PIICategories {
		pii[i] = api.PIICategory{Name: p}
	}
	out := api.Consent{Id: ptr(c.ID), Name: c.Name, Description: ptr(c.Description), CanBeWithdrawn: ptr(c.CanBeWithdrawn),
		PiiCategories: &pii, InternalServices: servicesOut(c.Services, "internal"), ThirdPartyServices: servicesOut(c.Services, "thirdParty"),
		TenantId: ptr(c.Tenant), ValidFrom: c.ValidFrom, Version: ptr(c.Version)}
	if c.UpdateExistingGrants != "" {
		out.UpdateExistingGrants = ptr(api.ConsentUpdateExistingGrants(c.UpdateExistingGrants))
	}
	return out
}

// ListConsents answers every consent of the tenant.
func (s *Server) ListConsents(ctx context.Context, req api.ListConsentsRequestObject) (api.ListConsentsResponseObject, error) {
	found, _, err := s.book.ListConsents(ctx, req.Tid, "", 0, all)
	if err != nil {
		return nil, err
	}
	out := api.ListConsents200JSONResponse{Consents: make([]api.Consent, len(found))}
	for i := range found {
		out.Consents[i] = consentOut(&found[i])
	}
	return out, nil
}

// CreateConsent adds a consent under the caller's id.
func (s *Server) CreateConsent(ctx context.Context, req api.CreateConsentRequestObject) (api.CreateConsentResponseObject, error) {
	b := req.Body
	c, err := consentIn(req.Tid, api.Consent{Id: &b.Id, Name: b.Name, Description: b.Description, CanBeWithdrawn: b.CanBeWithdrawn,
		PiiCategories: b.PiiCategories, InternalServices: b.InternalServices, ThirdPartyServices: b.ThirdPartyServices, TenantId: b.TenantId,
		ValidFrom: b.ValidFrom, UpdateExistingGrants: ptr(api.ConsentUpdateExistingGrants(b.UpdateExistingGrants))})
	if err != nil {
		return nil, err
	}
	c.Version = deref(b.Version)
	if err := s.book.CreateConsent(ctx, &c); err != nil {
		return nil, err
	}
	return api.CreateConsent201JSONResponse(consentOut(&c)), nil
}

// GetConsent answers one consent.
func (s *Server) GetConsent(ctx context.Context, req api.GetConsentRequestObject) (api.GetConsentResponseObject, error) {
	c, err := s.book.GetConsent(ctx, req.Tid, req.Consent)
	if err != nil {
		return nil, err
	}
	return api.GetConsent200JSONResponse(consentOut(c)), nil
}

// UpdateConsent makes a new version; a version the body names is the one it is based on.
func (s *Server) UpdateConsent(ctx context.Context, req api.UpdateConsentRequestObject) (api.UpdateConsentResponseObject, error) {
	in, err := consentIn(req.Tid, *req.Body)
	if err != nil {
		return nil, err
	}
	c, err := s.book.UpdateConsent(ctx, req.Tid, req.Consent, in, precondition.Unconditional(req.Body.Version), in.UpdateExistingGrants)
	if err != nil {
		return nil, err
	}
	return api.UpdateConsent201JSONResponse(consentOut(c)), nil
}

// DeleteConsent removes a consent and its grants.
func (s *Server) DeleteConsent(ctx context.Context, req api.DeleteConsentRequestObject) (api.DeleteConsentResponseObject, error) {
	if err := s.book.DeleteConsent(ctx, req.Tid, req.Consent); err != nil {
		return nil, err
	}
	return api.DeleteConsent204Response{}, nil
}

// askedIn reads the consents an action asks for: each one's id and whether it is
// required; its name and version are what the request claims the consent is.
func askedIn(cs *[]api.ActionConsent) []consents.ActionConsent {
	var asked []consents.ActionConsent
	for _, c := range deref(cs) {
		ac := consents.ActionConsent{ConsentID: c.Id, Required: deref(c.Required)}
		if c.Name != nil || c.Version != nil {
			ac.Claimed = &consents.ConsentClaim{Name: deref(c.Name), Version: deref(c.Version)}
		}
		asked = append(asked, ac)
	}
	return asked
}

func actionOut(d *consents.ActionDetail) api.ConsentActionWithConsents {
	required := map[string]bool{}
	for _, ac := range d.Action.Consents {
		required[ac.ConsentID] = ac.Required
	}
	cs := make([]api.ActionConsent, len(d.Consents))
	for i := range d.Consents {
		c := consentOut(&d.Consents[i])
		cs[i] = api.ActionConsent{Id: d.Consents[i].ID, Name: &c.Name, Description: c.Description, CanBeWithdrawn: c.CanBeWithdrawn,
			PiiCategories: c.PiiCategories, InternalServices: c.InternalServices, ThirdPartyServices: c.ThirdPartyServices, TenantId: c.TenantId,
			ValidFrom: c.ValidFrom, Version: c.Version, Required: ptr(required[d.Consents[i].ID])}
		if c.UpdateExistingGrants != nil {
			cs[i].UpdateExistingGrants = ptr(api.ActionConsentUpdateExistingGrants(*c.UpdateExistingGrants))
		}
	}
	return api.ConsentActionWithConsents{Id: ptr(d.ID), Name: d.Name, Description: ptr(d.Description), TenantId: ptr(d.Tenant), Consents: &cs}
}

// ListConsentActions answers every consent action of the tenant, without their consents.
func (s *Server) ListConsentActions(ctx context.Context, req api.ListConsentActionsRequestObject) (api.ListConsentActionsResponseObject, error) {
	found, _, err := s.actions.List(ctx, req.Tid, "", 0, all)
	if err != nil {
		return nil, err
	}
	out := api.ListConsentActions200JSONResponse{ConsentActions: make([]api.ConsentAction, len(found))}
	for i, a := range found {
		out.ConsentActions[i] = api.ConsentAction{Id: a.ID, Name: a.Name, Description: ptr(a.Description), TenantId: ptr(a.Tenant)}
	}
	return out, nil
}

// CreateConsentAction adds a consent action under the caller's id.
func (s *Server) CreateConsentAction(ctx context.Context, req api.CreateConsentActionRequestObject) (api.CreateConsentActionResponseObject, error) {
	if err := sameTenant(req.Tid, req.Body.TenantId); err != nil {
		return nil, err
	}
	d, err := s.actions.AddDetailed(ctx, req.Tid, req.Body.Id, req.Body.Name, deref(req.Body.Description), askedIn(req.Body.Consents))
	if err != nil {
		return nil, err
	}
	return api.CreateConsentAction201JSONResponse(actionOut(d)), nil
}

// GetConsentAction answers one consent action, by id or name, with its consents.
func (s *Server) GetConsentAction(ctx context.Context, req api.GetConsentActionRequestObject) (api.GetConsentActionResponseObject, error) {
	d, err := s.actions.GetDetailed(ctx, req.Tid, req.Action)
	if err != nil {
		return nil, err
	}
	return api.GetConsentAction200JSONResponse(actionOut(d)), nil
}

// UpdateConsentAction replaces a consent action; Cloudentity's actions carry no version.
func (s *Server) UpdateConsentAction(ctx context.Context, req api.UpdateConsentActionRequestObject) (api.UpdateConsentActionResponseObject, error) {
	if err := sameTenant(req.Tid, req.Body.TenantId); err != nil {
		return nil, err
	}
	d, err := s.actions.UpdateDetailed(ctx, req.Tid, req.Action, consents.ActionChange{ID: deref(req.Body.Id), Name: req.Body.Name,
		Description: deref(req.Body.Description), Consents: askedIn(req.Body.Consents)}, precondition.Unconditional(nil))
	if err != nil {
		return nil, err
	}
	return api.UpdateConsentAction201JSONResponse(actionOut(d)), nil
}

// DeleteConsentAction removes a consent action.
func (s *Server) DeleteConsentAction(ctx context.Context, req api.DeleteConsentActionRequestObject) (api.DeleteConsentActionResponseObject, error) {
	if err := s.actions.Delete(ctx, req.Tid, req.Action); err != nil {
		return nil, err
	}
	return api.DeleteConsentAction204Response{}, nil
}

// subjectRef is the ledger's name of a Cloudentity subject: a bare id is a user's.
func subjectRef(sub string) string {
	if strings.HasPrefix(sub, "user-") || strings.HasPrefix(sub, "client-") {
		return sub
	}
	return "user-" + sub
}

// subjectOut names a ledger subject as Cloudentity does: a user by its bare id.
func subjectOut(subject string) string { return strings.TrimPrefix(subject, "user-") }

// unixTime reads a Unix-seconds bound; nil stays nil.
func unixTime(sec *int64) *time.Time {
	if sec == nil {
		return nil
	}
	t := time.Unix(*sec, 0).UTC()
	return &t
}

// ListPrivacyLedgerEventsBySubject answers the ledger, filtered by subject and time.
func (s *Server) ListPrivacyLedgerEventsBySubject(ctx context.Context, req api.ListPrivacyLedgerEventsBySubjectRequestObject) (api.ListPrivacyLedgerEventsBySubjectResponseObject, error) {
	q := consents.LedgerQuery{From: unixTime(req.Params.From), To: unixTime(req.Params.To), Limit: maxEvents}
	if req.Params.Sub != nil {
		q.Subject = subjectRef(*req.Params.Sub)
	}
	evs, total, err := s.book.Ledger(ctx, req.Tid, q)
	if err != nil {
		return nil, err
	}
	if total > maxEvents {
		return nil, errs.Fields("the query matches more events than one answer holds",
			errs.FieldError{Field: "from", Message: strconv.Itoa(total) + " events match, at most " + strconv.Itoa(maxEvents) + " are answered: narrow from/to"})
	}
	out := api.ListPrivacyLedgerEventsBySubject200JSONResponse{Events: make([]api.PrivacyLedgerEvent, len(evs))}
	for i, ev := range evs {
		out.Events[i] = eventOut(req.Tid, ev)
	}
	return out, nil
}

// eventOut is a ledger event in Cloudentity's shape: the act under its type's key.
func eventOut(tid string, ev consents.LedgerEvent) api.PrivacyLedgerEvent {
	seq := strconv.FormatInt(ev.Seq, 10)
	act := &api.ConsentGrantAct{CollectionTimestamp: ev.OccurredAt.UnixNano(), ConsentGrantActId: &seq, GivenAt: ev.OccurredAt,
		Subject: subjectOut(ev.Subject), TenantId: tid}
	if ev.ConsentID != "" {
		act.ConsentId, act.Version = ptr(ev.ConsentID), ptr(ev.ConsentVersion)
	}
	if ev.GrantType != "" {
		act.GrantType = ptr(ev.GrantType)
	}
	if ev.Language != "" {
		act.Language = ptr(ev.Language)
	}
	if ev.ActionID != "" {
		act.TriggeredByAction = ptr(ev.ActionID)
	}
	act.Context = contextOut(ev.Context)
	if id, ok := ev.Context["clientId"]; ok {
		act.ClientId, act.Scopes = ptr(id), ptr(strings.Fields(ev.Context["scopes"]))
	}
	p := api.LedgerPayload{EventType: api.LedgerPayloadEventType(ev.Type)}
	switch ev.Type {
	case consents.Granted:
		p.ConsentGranted = act
	case consents.Revoked:
		p.ConsentRevoked = act
	case consents.ReconsentRequired:
		p.ConsentReconsentRequired = act
	case consents.VersionMigrated:
		p.ConsentVersionMigrated = act
	case consents.SubjectDeleted:
		p.SubjectDeleted = act
	case consents.ClientAccessGranted:
		p.ClientAccessGranted = act
	case consents.ClientAccessRevoked:
		p.ClientAccessRevoked = act
	case consents.ClientAccessDenied:
		p.ClientAccessDenied = act
	}
	return api.PrivacyLedgerEvent{Id: seq, Date: ev.OccurredAt, Payload: p, PayloadSignature: ev.Hash, Subject: subjectOut(ev.Subject), TenantId: tid}
}

// contextOut gives the grant's circumstances in Cloudentity's shape: the device as
// {name}, a location told as "lat,lon" as [lat, lon].
func contextOut(ctx map[string]string) *api.GrantContext {
	var out api.GrantContext
	if ip := ctx["ip"]; ip != "" {
		out.Ip = ptr(ip)
	}
	if d := ctx["device"]; d != "" {
		out.Device = &map[string]any{"name": d}
	}
	if lat, lon, ok := strings.Cut(ctx["location"], ","); ok {
		la, err1 := strconv.ParseFloat(strings.TrimSpace(lat), 64)
		lo, err2 := strconv.ParseFloat(strings.TrimSpace(lon), 64)
		if err1 == nil && err2 == nil {
			out.Location = &[]float64{la, lo}
		}
	}
	if out == (api.GrantContext{}) {
		return nil
	}
	return &out
}
