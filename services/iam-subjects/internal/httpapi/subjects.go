package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/pagination"

	"github.com/iamplane/iam/services/iam-subjects/api"
	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

// ListSubjects searches every kind of subject.
func (s *Server) ListSubjects(ctx context.Context, req api.ListSubjectsRequestObject) (api.ListSubjectsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	found, total, err := s.directory.Search(ctx, req.Tenant, subjects.Query{Offset: p.Offset(), Limit: p.Size,
		Search: deref(req.Params.SearchQuery), Type: subjects.Type(deref(req.Params.Type))})
	if err != nil {
		return nil, err
	}
	return api.ListSubjects200JSONResponse(subjectList(p, found, total)), nil
}

// GetSubject returns one subject.
func (s *Server) GetSubject(ctx context.Context, req api.GetSubjectRequestObject) (api.GetSubjectResponseObject, error) {
	sub, err := s.directory.Subject(ctx, req.Tenant, req.SubjectId)
	if err != nil {
		return nil, err
	}
	return api.GetSubject200JSONResponse(subjectOut(sub)), nil
}

// ListSubjectGroups lists a subject's groups as subjects.
func (s *Server) ListSubjectGroups(ctx context.Context, req api.ListSubjectGroupsRequestObject) (api.ListSubjectGroupsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	found, total, err := s.directory.SubjectGroups(ctx, req.Tenant, req.SubjectId, deref(req.Params.Transitive), p.Offset(), p.Size)
	if err != nil {
		return nil, err
	}
	return api.ListSubjectGroups200JSONResponse(subjectList(p, found, total)), nil
}

// GetMe returns the caller, as a subject, with its groups.
func (s *Server) GetMe(ctx context.Context, req api.GetMeRequestObject) (api.GetMeResponseObject, error) {
	sub, groups, err := s.directory.Me(ctx, req.Tenant, auth.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	out := api.GetMe200JSONResponse{Subject: subjectOut(sub), Groups: make([]api.Subject, len(groups))}
	for i := range groups {
		out.Groups[i] = subjectOut(&groups[i])
	}
	return out, nil
}

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

// optional and deref map between the spec's optional fields and the domain's zero values;
// every resource's mapping uses them.
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
