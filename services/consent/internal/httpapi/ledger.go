package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/pagination"

	"github.com/iamplane/iam/services/consent/api"
	"github.com/iamplane/iam/services/consent/internal/consents"
)

// ListLedgerEvents lists the privacy ledger.
func (s *Server) ListLedgerEvents(ctx context.Context, req api.ListLedgerEventsRequestObject) (api.ListLedgerEventsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	evs, total, err := s.book.Ledger(ctx, req.Tenant, consents.LedgerQuery{Subject: deref(req.Params.Subject),
		From: req.Params.From, To: req.Params.To, Offset: p.Offset(), Limit: p.Size})
	if err != nil {
		return nil, err
	}
	info := p.Describe(len(evs), total)
	out := api.ListLedgerEvents200JSONResponse{Data: make([]api.LedgerEvent, len(evs)),
		Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	for i, ev := range evs {
		e := api.LedgerEvent{Seq: ev.Seq, Type: api.LedgerEventType(ev.Type), Subject: ev.Subject, OccurredAt: ev.OccurredAt, Hash: ev.Hash}
		if ev.ConsentID != "" {
			e.ConsentId, e.ConsentVersion = &evs[i].ConsentID, &evs[i].ConsentVersion
		}
		if ev.GrantType != "" {
			e.GrantType = &evs[i].GrantType
		}
		if ev.Context != nil {
			e.Context = &evs[i].Context
		}
		if ev.Language != "" {
			e.Language = &evs[i].Language
		}
		if ev.ActionID != "" {
			e.ActionId = &evs[i].ActionID
		}
		out.Data[i] = e
	}
	return out, nil
}

// VerifyLedger recomputes the hash chain.
func (s *Server) VerifyLedger(ctx context.Context, req api.VerifyLedgerRequestObject) (api.VerifyLedgerResponseObject, error) {
	v, err := s.book.VerifyLedger(ctx, req.Tenant)
	if err != nil {
		return nil, err
	}
	return api.VerifyLedger200JSONResponse{Valid: v.Valid, Checked: v.Checked, FirstBrokenSeq: v.FirstBrokenSeq}, nil
}
