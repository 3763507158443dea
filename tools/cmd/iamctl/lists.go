package main

import (
	"context"
	"fmt"

	consentapi "github.com/iamplane/iam/services/consent/api"
	policiesapi "github.com/iamplane/iam/services/iam-policies/api"
	subjectsapi "github.com/iamplane/iam/services/iam-subjects/api"
	clientsapi "github.com/iamplane/iam/services/oauth-clients/api"
)

// pageSize is the most entries the API answers in one page.
var pageSize = int32(200)

// maxPages bounds every, should a server keep answering full pages: 2 million entries.
const maxPages = 10_000

// every gathers a whole list: fetch asks for one page (1, 2, ...) and answers its entries
// and the list's total; every stops once it has the total or a page comes back empty.
func every[T any](fetch func(page int32) (data []T, total int32, err error)) ([]T, error) {
	all := []T{}
	for page := int32(1); page <= maxPages; page++ {
		data, total, err := fetch(page)
		if err != nil {
			return nil, err
		}
		all = append(all, data...)
		if len(data) == 0 || int32(len(all)) >= total {
			return all, nil
		}
	}
	return nil, fmt.Errorf("the list has more than %d pages", maxPages)
}

// listFailed is the error of a request for a page of what: the request's, or the answer's
// status and problem.
func listFailed(what string, err error, r interface{ StatusCode() int }) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %s", what, body(r))
}

// whole is a whole list as `iamctl X list` prints it: the API's list, as a single page.
type whole[T any] struct {
	Page       int32 `json:"page"`
	PageSize   int32 `json:"pageSize"`
	Count      int32 `json:"count"`
	Total      int32 `json:"total"`
	TotalPages int32 `json:"totalPages"`
	Data       []T   `json:"data"`
}

// printable makes a whole list, or the error getting it, what a resource's list answers.
func printable[T any](data []T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	n := int32(len(data))
	return whole[T]{Page: 1, PageSize: n, Count: n, Total: n, TotalPages: 1, Data: data}, nil
}

// The whole lists, one function per list of the API.

func allClients(ctx context.Context, c *apis, t string) ([]clientsapi.Client, error) {
	return every(func(page int32) ([]clientsapi.Client, int32, error) {
		r, err := c.clients.ListClientsWithResponse(ctx, t, &clientsapi.ListClientsParams{Page: &page, PageSize: &pageSize})
		if err != nil || r.JSON200 == nil {
			return nil, 0, listFailed("clients", err, r)
		}
		return r.JSON200.Data, r.JSON200.Total, nil
	})
}

func allScopes(ctx context.Context, c *apis, t string) ([]clientsapi.Scope, error) {
	return every(func(page int32) ([]clientsapi.Scope, int32, error) {
		r, err := c.clients.ListScopesWithResponse(ctx, t, &clientsapi.ListScopesParams{Page: &page, PageSize: &pageSize})
		if err != nil || r.JSON200 == nil {
			return nil, 0, listFailed("scopes", err, r)
		}
		return r.JSON200.Data, r.JSON200.Total, nil
	})
}

func allUsers(ctx context.Context, c *apis, t string) ([]subjectsapi.User, error) {
	return every(func(page int32) ([]subjectsapi.User, int32, error) {
		r, err := c.subjects.ListUsersWithResponse(ctx, t, &subjectsapi.ListUsersParams{Page: &page, PageSize: &pageSize})
		if err != nil || r.JSON200 == nil {
			return nil, 0, listFailed("users", err, r)
		}
		return r.JSON200.Data, r.JSON200.Total, nil
	})
}

func allGroups(ctx context.Context, c *apis, t string) ([]subjectsapi.Group, error) {
	return every(func(page int32) ([]subjectsapi.Group, int32, error) {
		r, err := c.subjects.ListGroupsWithResponse(ctx, t, &subjectsapi.ListGroupsParams{Page: &page, PageSize: &pageSize})
		if err != nil || r.JSON200 == nil {
			return nil, 0, listFailed("groups", err, r)
		}
		return r.JSON200.Data, r.JSON200.Total, nil
	})
}

func allGroupMembers(ctx context.Context, c *apis, t, group string) ([]subjectsapi.Subject, error) {
	return every(func(page int32) ([]subjectsapi.Subject, int32, error) {
		r, err := c.subjects.ListGroupMembersWithResponse(ctx, t, group, &subjectsapi.ListGroupMembersParams{Page: &page, PageSize: &pageSize})
		if err != nil || r.JSON200 == nil {
			return nil, 0, listFailed("members of "+group, err, r)
		}
		return r.JSON200.Data, r.JSON200.Total, nil
	})
}

func allPolicies(ctx context.Context, c *apis, t string) ([]policiesapi.Policy, error) {
	return every(func(page int32) ([]policiesapi.Policy, int32, error) {
		r, err := c.policies.ListPoliciesWithResponse(ctx, t, &policiesapi.ListPoliciesParams{Page: &page, PageSize: &pageSize})
		if err != nil || r.JSON200 == nil {
			return nil, 0, listFailed("policies", err, r)
		}
		return r.JSON200.Data, r.JSON200.Total, nil
	})
}

func allActions(ctx context.Context, c *apis, t string) ([]policiesapi.Action, error) {
	return every(func(page int32) ([]policiesapi.Action, int32, error) {
		r, err := c.policies.ListActionsWithResponse(ctx, t, &policiesapi.ListActionsParams{Page: &page, PageSize: &pageSize})
		if err != nil || r.JSON200 == nil {
			return nil, 0, listFailed("actions", err, r)
		}
		return r.JSON200.Data, r.JSON200.Total, nil
	})
}

func allConsents(ctx context.Context, c *apis, t string) ([]consentapi.Consent, error) {
	return every(func(page int32) ([]consentapi.Consent, int32, error) {
		r, err := c.consent.ListConsentsWithResponse(ctx, t, &consentapi.ListConsentsParams{Page: &page, PageSize: &pageSize})
		if err != nil || r.JSON200 == nil {
			return nil, 0, listFailed("consents", err, r)
		}
		return r.JSON200.Data, r.JSON200.Total, nil
	})
}

func allConsentActions(ctx context.Context, c *apis, t string) ([]consentapi.ConsentAction, error) {
	return every(func(page int32) ([]consentapi.ConsentAction, int32, error) {
		r, err := c.consent.ListConsentActionsWithResponse(ctx, t, &consentapi.ListConsentActionsParams{Page: &page, PageSize: &pageSize})
		if err != nil || r.JSON200 == nil {
			return nil, 0, listFailed("consent actions", err, r)
		}
		return r.JSON200.Data, r.JSON200.Total, nil
	})
}

func allResources(ctx context.Context, c *apis, t string) ([]policiesapi.Resource, error) {
	return every(func(page int32) ([]policiesapi.Resource, int32, error) {
		r, err := c.policies.ListResourcesWithResponse(ctx, t, &policiesapi.ListResourcesParams{Page: &page, PageSize: &pageSize})
		if err != nil || r.JSON200 == nil {
			return nil, 0, listFailed("resources", err, r)
		}
		return r.JSON200.Data, r.JSON200.Total, nil
	})
}

func allPermissions(ctx context.Context, c *apis, t string) ([]policiesapi.Permission, error) {
	return every(func(page int32) ([]policiesapi.Permission, int32, error) {
		r, err := c.policies.ListPermissionsWithResponse(ctx, t, &policiesapi.ListPermissionsParams{Page: &page, PageSize: &pageSize})
		if err != nil || r.JSON200 == nil {
			return nil, 0, listFailed("permissions", err, r)
		}
		return r.JSON200.Data, r.JSON200.Total, nil
	})
}

func allRoles(ctx context.Context, c *apis, t string) ([]policiesapi.Role, error) {
	return every(func(page int32) ([]policiesapi.Role, int32, error) {
		r, err := c.policies.ListRolesWithResponse(ctx, t, &policiesapi.ListRolesParams{Page: &page, PageSize: &pageSize})
		if err != nil || r.JSON200 == nil {
			return nil, 0, listFailed("roles", err, r)
		}
		return r.JSON200.Data, r.JSON200.Total, nil
	})
}

func allAccessControls(ctx context.Context, c *apis, t string) ([]policiesapi.AccessControl, error) {
	return every(func(page int32) ([]policiesapi.AccessControl, int32, error) {
		r, err := c.policies.ListAccessControlsWithResponse(ctx, t, &policiesapi.ListAccessControlsParams{Page: &page, PageSize: &pageSize})
		if err != nil || r.JSON200 == nil {
			return nil, 0, listFailed("access controls", err, r)
		}
		return r.JSON200.Data, r.JSON200.Total, nil
	})
}

func allTemplates(ctx context.Context, c *apis, t string) ([]policiesapi.Template, error) {
	return every(func(page int32) ([]policiesapi.Template, int32, error) {
		r, err := c.policies.ListTemplatesWithResponse(ctx, t, &policiesapi.ListTemplatesParams{Page: &page, PageSize: &pageSize})
		if err != nil || r.JSON200 == nil {
			return nil, 0, listFailed("templates", err, r)
		}
		return r.JSON200.Data, r.JSON200.Total, nil
	})
}

func allAssignments(ctx context.Context, c *apis, t string) ([]policiesapi.Assignment, error) {
	return every(func(page int32) ([]policiesapi.Assignment, int32, error) {
		r, err := c.policies.ListAssignmentsWithResponse(ctx, t, &policiesapi.ListAssignmentsParams{Page: &page, PageSize: &pageSize})
		if err != nil || r.JSON200 == nil {
			return nil, 0, listFailed("assignments", err, r)
		}
		return r.JSON200.Data, r.JSON200.Total, nil
	})
}

// allEffectiveAccessControls are the access controls assigned to subject or its groups.
func allEffectiveAccessControls(ctx context.Context, c *apis, t, subject string) ([]policiesapi.AccessControl, error) {
	return every(func(page int32) ([]policiesapi.AccessControl, int32, error) {
		r, err := c.policies.GetEffectiveAccessControlsWithResponse(ctx, t, subject,
			&policiesapi.GetEffectiveAccessControlsParams{Page: &page, PageSize: &pageSize})
		if err != nil || r.JSON200 == nil {
			return nil, 0, listFailed("effective access controls", err, r)
		}
		return r.JSON200.Data, r.JSON200.Total, nil
	})
}

// allEffectiveAccessControlsOn are those of allEffectiveAccessControls on one resource (by id).
func allEffectiveAccessControlsOn(ctx context.Context, c *apis, t, subject, resource string) ([]policiesapi.AccessControl, error) {
	return every(func(page int32) ([]policiesapi.AccessControl, int32, error) {
		r, err := c.policies.GetEffectiveAccessControlsForResourceWithResponse(ctx, t, subject, resource,
			&policiesapi.GetEffectiveAccessControlsForResourceParams{Page: &page, PageSize: &pageSize})
		if err != nil || r.JSON200 == nil {
			return nil, 0, listFailed("effective access controls", err, r)
		}
		return r.JSON200.Data, r.JSON200.Total, nil
	})
}
