package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/iamplane/iam/pkg/apicommon"
	consentapi "github.com/iamplane/iam/services/consent/api"
	policiesapi "github.com/iamplane/iam/services/iam-policies/api"
	subjectsapi "github.com/iamplane/iam/services/iam-subjects/api"
	clientsapi "github.com/iamplane/iam/services/oauth-clients/api"
)

// tenantFile is a tenant's configuration as kept in git. Entities are matched by what
// stays stable across environments: clients by name, users by username, groups by id
// (chosen on PUT), consent actions by name, RBAC resources by code and the other RBAC
// entities by name (see tenantfile_rbac.go). Secrets are never exported.
type tenantFile struct {
	Scopes         []fileScope      `yaml:"scopes,omitempty"`
	Clients        []fileClient     `yaml:"clients,omitempty"`
	Groups         []fileGroup      `yaml:"groups,omitempty"`
	Users          []fileUser       `yaml:"users,omitempty"`
	Policies       []filePolicy     `yaml:"policies,omitempty"`
	Consents       []fileConsentDef `yaml:"consents,omitempty"`
	ConsentActions []fileConsent    `yaml:"consentActions,omitempty"`

	Resources      []fileResource      `yaml:"resources,omitempty"`
	Permissions    []filePermission    `yaml:"permissions,omitempty"`
	Roles          []fileRole          `yaml:"roles,omitempty"`
	AccessControls []fileAccessControl `yaml:"accessControls,omitempty"`
	Templates      []fileTemplate      `yaml:"templates,omitempty"`
	Assignments    []fileAssignment    `yaml:"assignments,omitempty"`
}

type fileConsentDef struct {
	Name           string   `yaml:"name"`
	Description    string   `yaml:"description,omitempty"`
	CanBeWithdrawn bool     `yaml:"canBeWithdrawn"`
	PIICategories  []string `yaml:"piiCategories,omitempty"`
}

type fileScope struct {
	Name        string `yaml:"name"`
	DisplayName string `yaml:"displayName,omitempty"`
	Description string `yaml:"description,omitempty"`
}

type fileClient struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description,omitempty"`
	GrantTypes  []string `yaml:"grantTypes,omitempty"`
	Scopes      []string `yaml:"scopes,omitempty"`
	Redirects   []string `yaml:"redirectUris,omitempty"`
	Public      bool     `yaml:"public,omitempty"`
}

type fileGroup struct {
	ID          string            `yaml:"id"`
	Name        map[string]string `yaml:"name"`
	Description map[string]string `yaml:"description,omitempty"`
	Groups      []string          `yaml:"groups,omitempty"` // nested groups (ids)
}

type fileUser struct {
	Username  string   `yaml:"username"`
	Email     string   `yaml:"email,omitempty"`
	FirstName string   `yaml:"firstName,omitempty"`
	LastName  string   `yaml:"lastName,omitempty"`
	Groups    []string `yaml:"groups,omitempty"`
}

type filePolicy struct {
	Subject string `yaml:"subject"` // group-<id>, or user:<username>
	Scope   string `yaml:"scope"`
	Action  string `yaml:"action"`
}

type fileConsent struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description,omitempty"`
}

func (a *app) exportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "export",
		Short: "Print the tenant's configuration as YAML (clients without secrets, groups, users, policies, consents, RBAC)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, cfg, err := a.connect(cmd.Context())
			if err != nil {
				return err
			}
			f, err := export(cmd.Context(), c, a.target(cfg))
			if err != nil {
				return err
			}
			return yaml.NewEncoder(cmd.OutOrStdout()).Encode(f)
		},
	}
}

func export(ctx context.Context, c *apis, t string) (*tenantFile, error) {
	f := &tenantFile{}
	scopes, err := allScopes(ctx, c, t)
	if err != nil {
		return nil, err
	}
	for _, x := range scopes {
		if !x.BuiltIn { // the platform's own scopes exist in every tenant
			f.Scopes = append(f.Scopes, fileScope{Name: x.Name, DisplayName: x.DisplayName, Description: x.Description})
		}
	}
	clients, err := allClients(ctx, c, t)
	if err != nil {
		return nil, err
	}
	for _, x := range clients {
		if x.System {
			continue
		}
		f.Clients = append(f.Clients, fileClient{Name: x.ClientName, Description: deref(x.Description), GrantTypes: x.GrantTypes,
			Scopes: x.Scopes, Redirects: x.RedirectUris, Public: x.Public})
	}
	groups, err := allGroups(ctx, c, t)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		fg := fileGroup{ID: g.Id, Name: g.Name}
		if g.Description != nil && len(*g.Description) > 0 {
			fg.Description = *g.Description
		}
		members, err := allGroupMembers(ctx, c, t, g.Id)
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			if m.Type == subjectsapi.SubjectTypeGroup {
				fg.Groups = append(fg.Groups, m.Id)
			}
		}
		f.Groups = append(f.Groups, fg)
	}
	users, err := allUsers(ctx, c, t)
	if err != nil {
		return nil, err
	}
	usernames := map[string]string{}
	for _, u := range users {
		usernames["user-"+u.Id] = deref(u.Username)
		f.Users = append(f.Users, fileUser{Username: deref(u.Username), Email: deref(u.Email), FirstName: deref(u.FirstName),
			LastName: deref(u.LastName), Groups: u.GroupIds})
	}
	policies, err := allPolicies(ctx, c, t)
	if err != nil {
		return nil, err
	}
	for _, p := range policies {
		subject := p.Subject
		if name, ok := usernames[subject]; ok {
			subject = "user:" + name // user ids differ between environments; usernames do not
		}
		f.Policies = append(f.Policies, filePolicy{Subject: subject, Scope: p.Scope, Action: p.Action})
	}
	consents, err := allConsents(ctx, c, t)
	if err != nil {
		return nil, err
	}
	for _, x := range consents {
		f.Consents = append(f.Consents, fileConsentDef{Name: x.Name, Description: deref(x.Description), CanBeWithdrawn: x.CanBeWithdrawn,
			PIICategories: x.PiiCategories})
	}
	consentActions, err := allConsentActions(ctx, c, t)
	if err != nil {
		return nil, err
	}
	for _, x := range consentActions {
		f.ConsentActions = append(f.ConsentActions, fileConsent{Name: x.Name, Description: deref(x.Description)})
	}
	if err := exportRBAC(ctx, c, t, f); err != nil {
		return nil, err
	}
	return f, nil
}

func (a *app) applyCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Make the tenant match a YAML file from export; applying it twice changes nothing the second time",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, err := a.read(file)
			if err != nil {
				return err
			}
			var f tenantFile
			if err := yaml.Unmarshal(raw, &f); err != nil {
				return fmt.Errorf("parse %s: %w", file, err)
			}
			c, cfg, err := a.connect(cmd.Context())
			if err != nil {
				return err
			}
			return apply(cmd.Context(), c, a.target(cfg), &f, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "-", "the tenant file")
	return cmd
}

// apply creates what is missing and updates what differs; it removes nothing.
func apply(ctx context.Context, c *apis, t string, f *tenantFile, out io.Writer) error {
	existing, err := export(ctx, c, t)
	if err != nil {
		return err
	}
	for _, want := range f.Scopes {
		i := slices.IndexFunc(existing.Scopes, func(x fileScope) bool { return x.Name == want.Name })
		if i >= 0 && existing.Scopes[i] == want {
			continue
		}
		in := clientsapi.ScopeInput{Name: clientsapi.ScopeName(want.Name), DisplayName: &want.DisplayName, Description: &want.Description}
		if i < 0 {
			if r, err := c.clients.CreateScopeWithResponse(ctx, t, in); err != nil || r.JSON201 == nil {
				return fmt.Errorf("create scope %q: %v %s", want.Name, err, body(r))
			}
			fmt.Fprintf(out, "scope %q created\n", want.Name)
			continue
		}
		cur, err := c.clients.GetScopeWithResponse(ctx, t, want.Name)
		if err != nil || cur.JSON200 == nil {
			return fmt.Errorf("scope %q: %v", want.Name, err)
		}
		update := clientsapi.ScopeUpdate{DisplayName: &want.DisplayName, Description: &want.Description,
			Metadata: &apicommon.Metadata{Version: cur.JSON200.Metadata.Version}}
		if r, err := c.clients.UpdateScopeWithResponse(ctx, t, want.Name, nil, update); err != nil || r.JSON200 == nil {
			return fmt.Errorf("update scope %q: %v %s", want.Name, err, body(r))
		}
		fmt.Fprintf(out, "scope %q updated\n", want.Name)
	}
	clients, err := allClients(ctx, c, t)
	if err != nil {
		return err
	}
	for _, want := range f.Clients {
		scopes, redirects := orEmpty(want.Scopes), orEmpty(want.Redirects)
		in := clientsapi.ClientInput{ClientName: want.Name, Description: &want.Description, Scopes: &scopes,
			RedirectUris: &redirects, Public: &want.Public}
		in.GrantTypes = grantTypes(want.GrantTypes)
		i := slices.IndexFunc(clients, func(x clientsapi.Client) bool { return x.ClientName == want.Name })
		if i < 0 {
			r, err := c.clients.CreateClientWithResponse(ctx, t, in)
			if err != nil || r.JSON201 == nil {
				return fmt.Errorf("create client %q: %v %s", want.Name, err, body(r))
			}
			fmt.Fprintf(out, "client %q created (id %s; its secret is shown once: %s)\n", want.Name, r.JSON201.ClientId, deref(r.JSON201.ClientSecret))
			continue
		}
		have := existing.Clients[slices.IndexFunc(existing.Clients, func(x fileClient) bool { return x.Name == want.Name })]
		if same(have, want) {
			continue
		}
		cur := clients[i]
		in.Metadata = &apicommon.Metadata{Version: cur.Metadata.Version}
		if r, err := c.clients.UpdateClientWithResponse(ctx, t, cur.ClientId, nil, in); err != nil || r.JSON200 == nil {
			return fmt.Errorf("update client %q: %v %s", want.Name, err, body(r))
		}
		fmt.Fprintf(out, "client %q updated\n", want.Name)
	}
	for _, want := range f.Groups {
		i := slices.IndexFunc(existing.Groups, func(g fileGroup) bool { return g.ID == want.ID })
		in := subjectsapi.GroupInput{Name: (*subjectsapi.LocalizedText)(&want.Name)}
		if want.Description != nil {
			in.Description = &subjectsapi.DescriptionInput{}
			if err := in.Description.FromLocalizedText(want.Description); err != nil {
				return err
			}
		}
		if i >= 0 && maps(existing.Groups[i].Name, want.Name) && maps(existing.Groups[i].Description, want.Description) {
			continue
		}
		if i >= 0 {
			g, err := c.subjects.GetGroupWithResponse(ctx, t, want.ID, nil)
			if err != nil || g.JSON200 == nil {
				return fmt.Errorf("group %s: %v", want.ID, err)
			}
			in.Metadata = &subjectsapi.MetadataInput{Version: g.JSON200.Metadata.Version}
		}
		if r, err := c.subjects.UpsertGroupWithResponse(ctx, t, want.ID, nil, in); err != nil || (r.JSON200 == nil && r.JSON201 == nil) {
			return fmt.Errorf("group %s: %v %s", want.ID, err, body(r))
		}
		fmt.Fprintf(out, "group %s applied\n", want.ID)
	}
	for _, want := range f.Groups {
		var missing []string
		i := slices.IndexFunc(existing.Groups, func(g fileGroup) bool { return g.ID == want.ID })
		for _, child := range want.Groups {
			if i < 0 || !slices.Contains(existing.Groups[i].Groups, child) {
				missing = append(missing, "group-"+child)
			}
		}
		if len(missing) > 0 {
			if r, err := c.subjects.AddGroupMembersWithResponse(ctx, t, want.ID, subjectsapi.MemberChange{SubjectIds: missing}); err != nil || r.JSON200 == nil {
				return fmt.Errorf("nest into %s: %v %s", want.ID, err, body(r))
			}
			fmt.Fprintf(out, "group %s: %d nested group(s) added\n", want.ID, len(missing))
		}
	}
	users, err := allUsers(ctx, c, t)
	if err != nil {
		return err
	}
	userIDs := map[string]string{}
	for _, u := range users {
		userIDs[deref(u.Username)] = u.Id
	}
	for _, want := range f.Users {
		groups := orEmpty(want.Groups)
		in := subjectsapi.UserInput{Username: &want.Username, FirstName: &want.FirstName, LastName: &want.LastName, GroupIds: &groups}
		if want.Email != "" {
			e := openapiEmail(want.Email)
			in.Email = &e
		}
		id, ok := userIDs[want.Username]
		if !ok {
			r, err := c.subjects.CreateUserWithResponse(ctx, t, in)
			if err != nil || r.JSON201 == nil {
				return fmt.Errorf("create user %q: %v %s", want.Username, err, body(r))
			}
			userIDs[want.Username] = r.JSON201.Id
			fmt.Fprintf(out, "user %q created\n", want.Username)
			continue
		}
		have := existing.Users[slices.IndexFunc(existing.Users, func(u fileUser) bool { return u.Username == want.Username })]
		if have.Email == want.Email && have.FirstName == want.FirstName && have.LastName == want.LastName && sameSet(have.Groups, want.Groups) {
			continue
		}
		uid := id
		cur, err := c.subjects.GetUserWithResponse(ctx, t, uid, nil)
		if err != nil || cur.JSON200 == nil {
			return fmt.Errorf("user %q: %v", want.Username, err)
		}
		in.Metadata = &subjectsapi.MetadataInput{Version: cur.JSON200.Metadata.Version}
		if r, err := c.subjects.ReplaceUserWithResponse(ctx, t, uid, nil, in); err != nil || r.JSON200 == nil {
			return fmt.Errorf("update user %q: %v %s", want.Username, err, body(r))
		}
		fmt.Fprintf(out, "user %q updated\n", want.Username)
	}
	for _, want := range f.Policies {
		subject := want.Subject
		if name, ok := cutPrefix(subject, "user:"); ok {
			id, known := userIDs[name]
			if !known {
				return fmt.Errorf("policy for unknown user %q", name)
			}
			subject = "user-" + id
		}
		r, err := c.policies.GrantPolicyWithResponse(ctx, t, nil, policiesapi.PolicyInput{Subject: subject, Scope: want.Scope, Action: want.Action})
		if err != nil || (r.JSON200 == nil && r.JSON201 == nil) {
			return fmt.Errorf("policy %v: %v %s", want, err, body(r))
		}
		if r.JSON201 != nil {
			fmt.Fprintf(out, "policy %s %s %s granted\n", want.Subject, want.Action, want.Scope)
		}
	}
	consents, err := allConsents(ctx, c, t)
	if err != nil {
		return err
	}
	for _, want := range f.Consents {
		i := slices.IndexFunc(consents, func(x consentapi.Consent) bool { return x.Name == want.Name })
		pii := orEmpty(want.PIICategories)
		in := consentapi.ConsentInput{Name: want.Name, Description: &want.Description, CanBeWithdrawn: &want.CanBeWithdrawn, PiiCategories: &pii}
		if i < 0 {
			if r, err := c.consent.CreateConsentWithResponse(ctx, t, in); err != nil || r.JSON201 == nil {
				return fmt.Errorf("create consent %q: %v %s", want.Name, err, body(r))
			}
			fmt.Fprintf(out, "consent %q created\n", want.Name)
			continue
		}
		cur := consents[i]
		if deref(cur.Description) == want.Description && cur.CanBeWithdrawn == want.CanBeWithdrawn && sameSet(cur.PiiCategories, pii) {
			continue
		}
		// A changed consent is a new version; grants given implicitly move to it, explicit
		// ones are asked again (keepCurrent).
		keep := consentapi.KeepCurrent
		in.UpdateExistingGrants, in.Metadata = &keep, &consentapi.WritableMetadata{Version: cur.Version}
		if r, err := c.consent.UpdateConsentWithResponse(ctx, t, cur.Id, in); err != nil || r.JSON200 == nil {
			return fmt.Errorf("update consent %q: %v %s", want.Name, err, body(r))
		}
		fmt.Fprintf(out, "consent %q updated (a new version)\n", want.Name)
	}
	for _, want := range f.ConsentActions {
		if i := slices.IndexFunc(existing.ConsentActions, func(x fileConsent) bool { return x.Name == want.Name }); i >= 0 {
			if existing.ConsentActions[i].Description == want.Description {
				continue
			}
			// The file does not list an action's consents: keep the ones it has.
			cur, err := c.consent.GetConsentActionWithResponse(ctx, t, want.Name)
			if err != nil || cur.JSON200 == nil {
				return fmt.Errorf("consent action %q: %v %s", want.Name, err, body(cur))
			}
			in := consentapi.ConsentActionInput{Name: want.Name, Description: &want.Description, Consents: &cur.JSON200.Consents,
				Metadata: &consentapi.WritableMetadata{Version: cur.JSON200.Metadata.Version}}
			if r, err := c.consent.UpdateConsentActionWithResponse(ctx, t, want.Name, nil, in); err != nil || r.JSON200 == nil {
				return fmt.Errorf("update consent action %q: %v %s", want.Name, err, body(r))
			}
			fmt.Fprintf(out, "consent action %q updated\n", want.Name)
			continue
		}
		r, err := c.consent.CreateConsentActionWithResponse(ctx, t, consentapi.ConsentActionInput{Name: want.Name, Description: &want.Description})
		if err != nil || r.JSON201 == nil {
			return fmt.Errorf("consent action %q: %v %s", want.Name, err, body(r))
		}
		fmt.Fprintf(out, "consent action %q created\n", want.Name)
	}
	return applyRBAC(ctx, c, t, f, out)
}
