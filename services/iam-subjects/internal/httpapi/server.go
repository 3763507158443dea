// Package httpapi translates HTTP to iam-subjects' use cases and back; nothing more.
package httpapi

import (
	"context"
	"strings"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/pagination"

	"github.com/iamplane/iam/services/iam-subjects/api"
	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

// Server implements the generated strict server interface.
type Server struct {
	Directory *subjects.Directory
}

var _ api.StrictServerInterface = (*Server)(nil)

func (s *Server) store() subjects.Store { return s.Directory.Store }

func subjectOut(sub *subjects.Subject) api.Subject {
	p := sub.Properties
	return api.Subject{
		Id: sub.ID, SubjectId: sub.SubjectID(), Type: api.SubjectType(sub.Type), DisplayName: sub.DisplayName, Tenant: sub.Tenant,
		Properties: api.SubjectProperties{
			Username: optional(p.Username), Email: optional(p.Email), PhoneNumber: optional(p.PhoneNumber),
			IconUri: optional(p.IconURI), Description: optional(p.Description), MemberCount: p.MemberCount,
		},
	}
}

func subjectList(p pagination.Page, found []subjects.Subject, total int) api.SubjectList {
	info := p.Describe(len(found), total)
	out := api.SubjectList{Data: make([]api.Subject, len(found)),
		Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	for i := range found {
		out.Data[i] = subjectOut(&found[i])
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// ListSubjects searches every kind of subject.
func (s *Server) ListSubjects(ctx context.Context, req api.ListSubjectsRequestObject) (api.ListSubjectsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	q := subjects.Query{Offset: p.Offset(), Limit: p.Size, Search: strings.TrimSpace(deref(req.Params.SearchQuery)),
		Type: subjects.Type(deref(req.Params.Type))}
	found, total, err := s.store().Search(ctx, req.Tenant, q)
	if err != nil {
		return nil, err
	}
	return api.ListSubjects200JSONResponse(subjectList(p, found, total)), nil
}

// GetSubject returns one subject.
func (s *Server) GetSubject(ctx context.Context, req api.GetSubjectRequestObject) (api.GetSubjectResponseObject, error) {
	ref, err := subjects.ParseID(req.SubjectId)
	if err != nil {
		return nil, err
	}
	sub, err := s.store().Get(ctx, req.Tenant, ref)
	if err != nil {
		return nil, err
	}
	return api.GetSubject200JSONResponse(subjectOut(sub)), nil
}

// ListSubjectGroups lists a subject's groups as subjects.
func (s *Server) ListSubjectGroups(ctx context.Context, req api.ListSubjectGroupsRequestObject) (api.ListSubjectGroupsResponseObject, error) {
	ref, err := subjects.ParseID(req.SubjectId)
	if err != nil {
		return nil, err
	}
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	groups, total, err := s.store().GroupsOf(ctx, req.Tenant, ref, deref(req.Params.Transitive), p.Offset(), p.Size)
	if err != nil {
		return nil, err
	}
	found := make([]subjects.Subject, len(groups))
	for i := range groups {
		found[i] = groups[i].Subject()
	}
	return api.ListSubjectGroups200JSONResponse(subjectList(p, found, total)), nil
}

// GetMe returns the caller, as a subject, with its groups.
func (s *Server) GetMe(ctx context.Context, req api.GetMeRequestObject) (api.GetMeResponseObject, error) {
	claims := auth.FromContext(ctx)
	if claims == nil {
		return nil, errs.E(errs.Unauthorized, "no caller")
	}
	ref, err := subjects.ParseID(claims.Subject)
	if err != nil {
		return nil, errs.E(errs.NotFound, "the caller %q is not a subject of this directory", claims.Subject)
	}
	sub, err := s.store().Get(ctx, req.Tenant, ref)
	if err != nil {
		return nil, err
	}
	groups, _, err := s.store().GroupsOf(ctx, req.Tenant, ref, true, 0, pagination.MaxSize)
	if err != nil {
		return nil, err
	}
	out := api.GetMe200JSONResponse{Subject: subjectOut(sub), Groups: make([]api.Subject, len(groups))}
	for i := range groups {
		g := groups[i].Subject()
		out.Groups[i] = subjectOut(&g)
	}
	return out, nil
}
