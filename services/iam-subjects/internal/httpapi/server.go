// Package httpapi translates HTTP to iam-subjects' use cases and back; nothing more.
package httpapi

import (
	"context"
	"strings"

	"github.com/iamplane/iam/pkg/pagination"

	"github.com/iamplane/iam/services/iam-subjects/api"
	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

// Server implements the generated strict server interface.
type Server struct {
	Subjects subjects.Store
}

var _ api.StrictServerInterface = (*Server)(nil)

func subjectOut(s *subjects.Subject) api.Subject {
	p := s.Properties
	return api.Subject{
		Id: s.ID, SubjectId: s.SubjectID(), Type: api.SubjectType(s.Type), DisplayName: s.DisplayName, Tenant: s.Tenant,
		Properties: api.SubjectProperties{
			Username: optional(p.Username), Email: optional(p.Email), PhoneNumber: optional(p.PhoneNumber),
			IconUri: optional(p.IconURI), Description: optional(p.Description), MemberCount: p.MemberCount,
		},
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ListSubjects searches every kind of subject.
func (s *Server) ListSubjects(ctx context.Context, req api.ListSubjectsRequestObject) (api.ListSubjectsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	q := subjects.Query{Offset: p.Offset(), Limit: p.Size}
	if req.Params.SearchQuery != nil {
		q.Search = strings.TrimSpace(*req.Params.SearchQuery)
	}
	if req.Params.Type != nil {
		q.Type = subjects.Type(*req.Params.Type)
	}
	found, total, err := s.Subjects.Search(ctx, req.Tenant, q)
	if err != nil {
		return nil, err
	}
	info := p.Describe(len(found), total)
	out := api.ListSubjects200JSONResponse{Data: make([]api.Subject, len(found)),
		Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	for i := range found {
		out.Data[i] = subjectOut(&found[i])
	}
	return out, nil
}

// GetSubject returns one subject.
func (s *Server) GetSubject(ctx context.Context, req api.GetSubjectRequestObject) (api.GetSubjectResponseObject, error) {
	t, id, err := subjects.ParseID(req.SubjectId)
	if err != nil {
		return nil, err
	}
	sub, err := s.Subjects.Get(ctx, req.Tenant, t, id)
	if err != nil {
		return nil, err
	}
	return api.GetSubject200JSONResponse(subjectOut(sub)), nil
}
