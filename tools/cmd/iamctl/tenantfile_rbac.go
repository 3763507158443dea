package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"

	policiesapi "github.com/iamplane/iam/services/iam-policies/api"
)

// RBAC in the tenant file. Its entities get their ids from the service, so the file never
// shows one: a resource is known by its code, a permission, role, access control or
// template by its name (nameKey: the English name, or else the name in the first language
// in alphabetical order), and references use those keys. Apply resolves them to ids in
// dependency order: resources, permissions, roles, access controls, templates, assignments.

type fileResource struct {
	Code        string            `yaml:"code"`
	Name        map[string]string `yaml:"name"`
	Description map[string]string `yaml:"description,omitempty"`
}

type filePermission struct {
	Name        map[string]string `yaml:"name"`
	Description map[string]string `yaml:"description,omitempty"`
	Code        string            `yaml:"code"`
	Resources   []string          `yaml:"resources"` // applicableResources, by code
}

type fileRole struct {
	Name        map[string]string    `yaml:"name"`
	Description map[string]string    `yaml:"description,omitempty"`
	Permissions []fileRolePermission `yaml:"permissions"`
}

type fileRolePermission struct {
	Permission string   `yaml:"permission"`          // the permission's name key
	Resources  []string `yaml:"resources,omitempty"` // applicablePermissionResources, by code; none: all of the permission's
}

type fileAccessControl struct {
	Name        map[string]string `yaml:"name"`
	Description map[string]string `yaml:"description,omitempty"`
	Role        string            `yaml:"role"`     // the role's name key
	Resource    string            `yaml:"resource"` // the resource's code
}

type fileTemplate struct {
	Name           map[string]string `yaml:"name"`
	Description    map[string]string `yaml:"description,omitempty"`
	AccessControls []string          `yaml:"accessControls"` // name keys
}

type fileAssignment struct {
	Subject       string `yaml:"subject"`                 // group-<id>, user:<username> or client:<client name>
	AccessControl string `yaml:"accessControl,omitempty"` // a name key; exactly one of the two
	Template      string `yaml:"template,omitempty"`
}

// nameKey is how the tenant file refers to an entity known by its localized name.
func nameKey(name map[string]string) string {
	if en := name["en"]; en != "" {
		return en
	}
	langs := make([]string, 0, len(name))
	for l := range name {
		langs = append(langs, l)
	}
	slices.Sort(langs)
	if len(langs) == 0 {
		return ""
	}
	return name[langs[0]]
}

func loc(t policiesapi.Text) map[string]string {
	m, _ := t.AsLocalizedText()
	return m
}

func locp(t *policiesapi.Text) map[string]string {
	if t == nil {
		return nil
	}
	return loc(*t)
}

func localized(m map[string]string) *policiesapi.LocalizedText {
	if len(m) == 0 {
		return nil
	}
	l := policiesapi.LocalizedText(m)
	return &l
}

// rbacState is a tenant's RBAC entities by key, and every id's key, kept current while
// apply creates and updates.
type rbacState struct {
	resources   map[string]policiesapi.Resource // by code
	permissions map[string][]policiesapi.Permission
	roles       map[string][]policiesapi.Role
	acs         map[string][]policiesapi.AccessControl
	templates   map[string][]policiesapi.Template
	assignments []policiesapi.Assignment
	key         map[string]string // id (uuid, unique across kinds) -> code or name key
}

func loadRBAC(ctx context.Context, c *apis, t string) (*rbacState, error) {
	s := &rbacState{resources: map[string]policiesapi.Resource{}, permissions: map[string][]policiesapi.Permission{},
		roles: map[string][]policiesapi.Role{}, acs: map[string][]policiesapi.AccessControl{},
		templates: map[string][]policiesapi.Template{}, key: map[string]string{}}
	rl, err := allResources(ctx, c, t)
	if err != nil {
		return nil, err
	}
	for _, x := range rl {
		s.resources[x.Code], s.key[x.Id] = x, x.Code
	}
	pl, err := allPermissions(ctx, c, t)
	if err != nil {
		return nil, err
	}
	for _, x := range pl {
		s.addPermission(x)
	}
	ro, err := allRoles(ctx, c, t)
	if err != nil {
		return nil, err
	}
	for _, x := range ro {
		s.addRole(x)
	}
	al, err := allAccessControls(ctx, c, t)
	if err != nil {
		return nil, err
	}
	for _, x := range al {
		s.addAccessControl(x)
	}
	tl, err := allTemplates(ctx, c, t)
	if err != nil {
		return nil, err
	}
	for _, x := range tl {
		s.addTemplate(x)
	}
	as, err := allAssignments(ctx, c, t)
	if err != nil {
		return nil, err
	}
	s.assignments = as
	return s, nil
}

func (s *rbacState) addPermission(x policiesapi.Permission) {
	k := nameKey(loc(x.Name))
	s.permissions[k], s.key[x.Id] = replaceByID(s.permissions[k], x, func(p policiesapi.Permission) string { return p.Id }), k
}

func (s *rbacState) addRole(x policiesapi.Role) {
	k := nameKey(loc(x.Name))
	s.roles[k], s.key[x.Id] = replaceByID(s.roles[k], x, func(p policiesapi.Role) string { return p.Id }), k
}

func (s *rbacState) addAccessControl(x policiesapi.AccessControl) {
	k := nameKey(loc(x.Name))
	s.acs[k], s.key[x.Id] = replaceByID(s.acs[k], x, func(p policiesapi.AccessControl) string { return p.Id }), k
}

func (s *rbacState) addTemplate(x policiesapi.Template) {
	k := nameKey(loc(x.Name))
	s.templates[k], s.key[x.Id] = replaceByID(s.templates[k], x, func(p policiesapi.Template) string { return p.Id }), k
}

func replaceByID[T any](xs []T, x T, id func(T) string) []T {
	if i := slices.IndexFunc(xs, func(y T) bool { return id(y) == id(x) }); i >= 0 {
		xs[i] = x
		return xs
	}
	return append(xs, x)
}

// only is the one entity with a key: found false if there is none, an error if the key
// is ambiguous (the file could not tell them apart).
func only[T any](kind, key string, byKey map[string][]T) (T, bool, error) {
	var zero T
	switch xs := byKey[key]; len(xs) {
	case 0:
		return zero, false, nil
	case 1:
		return xs[0], true, nil
	default:
		return zero, false, fmt.Errorf("%d %s are named %q: the tenant file refers to them by name, rename all but one", len(xs), kind, key)
	}
}

// keysOf is the keys of byKey in order, each of them unambiguous.
func keysOf[T any](kind string, byKey map[string][]T) ([]string, error) {
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		if _, _, err := only(kind, k, byKey); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

func (s *rbacState) keys(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = cmp.Or(s.key[id], id)
	}
	return out
}

// subjectNames maps user and client subject ids to what the tenant file calls them
// (user:<username>, client:<client name>), which stay the same across environments.
func subjectNames(ctx context.Context, c *apis, t string) (map[string]string, error) {
	names := map[string]string{}
	ul, err := allUsers(ctx, c, t)
	if err != nil {
		return nil, err
	}
	for _, u := range ul {
		if deref(u.Username) != "" {
			names["user-"+u.Id] = "user:" + deref(u.Username)
		}
	}
	cl, err := allClients(ctx, c, t)
	if err != nil {
		return nil, err
	}
	for _, x := range cl {
		names["client-"+x.ClientId] = "client:" + x.ClientName
	}
	return names, nil
}

func exportRBAC(ctx context.Context, c *apis, t string, f *tenantFile) error {
	s, err := loadRBAC(ctx, c, t)
	if err != nil {
		return err
	}
	codes := make([]string, 0, len(s.resources))
	for code := range s.resources {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		x := s.resources[code]
		f.Resources = append(f.Resources, fileResource{Code: code, Name: loc(x.Name), Description: locp(x.Description)})
	}
	keys, err := keysOf("permissions", s.permissions)
	if err != nil {
		return err
	}
	for _, k := range keys {
		x := s.permissions[k][0]
		f.Permissions = append(f.Permissions, filePermission{Name: loc(x.Name), Description: locp(x.Description), Code: x.Code,
			Resources: s.keys(x.ApplicableResources)})
	}
	if keys, err = keysOf("roles", s.roles); err != nil {
		return err
	}
	for _, k := range keys {
		x := s.roles[k][0]
		fr := fileRole{Name: loc(x.Name), Description: locp(x.Description), Permissions: []fileRolePermission{}}
		for _, p := range x.Permissions {
			fp := fileRolePermission{Permission: s.keys([]string{p.Id})[0]}
			if p.ApplicablePermissionResources != nil && len(*p.ApplicablePermissionResources) > 0 {
				fp.Resources = s.keys(*p.ApplicablePermissionResources)
			}
			fr.Permissions = append(fr.Permissions, fp)
		}
		f.Roles = append(f.Roles, fr)
	}
	if keys, err = keysOf("access controls", s.acs); err != nil {
		return err
	}
	for _, k := range keys {
		x := s.acs[k][0]
		f.AccessControls = append(f.AccessControls, fileAccessControl{Name: loc(x.Name), Description: locp(x.Description),
			Role: s.keys([]string{x.RoleId})[0], Resource: s.keys([]string{x.ResourceId})[0]})
	}
	if keys, err = keysOf("templates", s.templates); err != nil {
		return err
	}
	for _, k := range keys {
		x := s.templates[k][0]
		f.Templates = append(f.Templates, fileTemplate{Name: loc(x.Name), Description: locp(x.Description), AccessControls: s.keys(x.AccessControls)})
	}
	if len(s.assignments) == 0 {
		return nil
	}
	names, err := subjectNames(ctx, c, t)
	if err != nil {
		return err
	}
	for _, x := range s.assignments {
		fa := fileAssignment{Subject: cmp.Or(names[x.Subject], x.Subject)}
		if x.AccessControlId != nil {
			fa.AccessControl = s.keys([]string{*x.AccessControlId})[0]
		}
		if x.TemplateId != nil {
			fa.Template = s.keys([]string{*x.TemplateId})[0]
		}
		f.Assignments = append(f.Assignments, fa)
	}
	slices.SortFunc(f.Assignments, func(a, b fileAssignment) int {
		return cmp.Or(cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.AccessControl, b.AccessControl), cmp.Compare(a.Template, b.Template))
	})
	return nil
}

// ids resolves keys to ids with look (which names the kind in its errors).
func ids(keys []string, look func(string) (string, error)) ([]string, error) {
	out := make([]string, len(keys))
	for i, k := range keys {
		id, err := look(k)
		if err != nil {
			return nil, err
		}
		out[i] = id
	}
	return out, nil
}

func (s *rbacState) resourceID(code string) (string, error) {
	if r, ok := s.resources[code]; ok {
		return r.Id, nil
	}
	return "", fmt.Errorf("unknown resource %q", code)
}

func (s *rbacState) permissionID(key string) (string, error) {
	p, ok, err := only("permissions", key, s.permissions)
	if err == nil && !ok {
		err = fmt.Errorf("unknown permission %q", key)
	}
	return p.Id, err
}

func (s *rbacState) roleID(key string) (string, error) {
	r, ok, err := only("roles", key, s.roles)
	if err == nil && !ok {
		err = fmt.Errorf("unknown role %q", key)
	}
	return r.Id, err
}

func (s *rbacState) accessControlID(key string) (string, error) {
	a, ok, err := only("access controls", key, s.acs)
	if err == nil && !ok {
		err = fmt.Errorf("unknown access control %q", key)
	}
	return a.Id, err
}

func (s *rbacState) templateID(key string) (string, error) {
	x, ok, err := only("templates", key, s.templates)
	if err == nil && !ok {
		err = fmt.Errorf("unknown template %q", key)
	}
	return x.Id, err
}

// sameRolePermissions compares role permissions as a set, each one's narrowing as a set.
func sameRolePermissions(a, b []policiesapi.RolePermission) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		i := slices.IndexFunc(b, func(y policiesapi.RolePermission) bool { return y.Id == x.Id })
		if i < 0 || !sameSet(deref(x.ApplicablePermissionResources), deref(b[i].ApplicablePermissionResources)) {
			return false
		}
	}
	return true
}

// applyRBAC creates what is missing and updates what differs, in dependency order; like
// apply it removes nothing.
func applyRBAC(ctx context.Context, c *apis, t string, f *tenantFile, out io.Writer) error {
	if len(f.Resources)+len(f.Permissions)+len(f.Roles)+len(f.AccessControls)+len(f.Templates)+len(f.Assignments) == 0 {
		return nil
	}
	s, err := loadRBAC(ctx, c, t)
	if err != nil {
		return err
	}
	for _, want := range f.Resources {
		in := policiesapi.ResourceInput{Code: want.Code, Name: want.Name, Description: localized(want.Description)}
		cur, ok := s.resources[want.Code]
		if !ok {
			r, err := c.policies.CreateResourceWithResponse(ctx, t, in)
			if err != nil || r.JSON201 == nil {
				return fmt.Errorf("create resource %q: %v %s", want.Code, err, body(r))
			}
			s.resources[want.Code], s.key[r.JSON201.Id] = *r.JSON201, want.Code
			fmt.Fprintf(out, "resource %q created\n", want.Code)
			continue
		}
		if maps(loc(cur.Name), want.Name) && maps(locp(cur.Description), want.Description) {
			continue
		}
		in.Metadata = &policiesapi.MetadataInput{Version: cur.Metadata.Version}
		r, err := c.policies.UpdateResourceWithResponse(ctx, t, cur.Id, nil, in)
		if err != nil || r.JSON200 == nil {
			return fmt.Errorf("update resource %q: %v %s", want.Code, err, body(r))
		}
		s.resources[want.Code] = *r.JSON200
		fmt.Fprintf(out, "resource %q updated\n", want.Code)
	}
	for _, want := range f.Permissions {
		k := nameKey(want.Name)
		res, err := ids(want.Resources, s.resourceID)
		if err != nil {
			return fmt.Errorf("permission %q: %w", k, err)
		}
		in := policiesapi.PermissionInput{Name: want.Name, Description: localized(want.Description), Code: want.Code, ApplicableResources: res}
		cur, ok, err := only("permissions", k, s.permissions)
		if err != nil {
			return err
		}
		if !ok {
			r, err := c.policies.CreatePermissionWithResponse(ctx, t, in)
			if err != nil || r.JSON201 == nil {
				return fmt.Errorf("create permission %q: %v %s", k, err, body(r))
			}
			s.addPermission(*r.JSON201)
			fmt.Fprintf(out, "permission %q created\n", k)
			continue
		}
		if cur.Code == want.Code && maps(loc(cur.Name), want.Name) && maps(locp(cur.Description), want.Description) &&
			sameSet(cur.ApplicableResources, res) {
			continue
		}
		in.Metadata = &policiesapi.MetadataInput{Version: cur.Metadata.Version}
		r, err := c.policies.UpdatePermissionWithResponse(ctx, t, cur.Id, nil, in)
		if err != nil || r.JSON200 == nil {
			return fmt.Errorf("update permission %q: %v %s", k, err, body(r))
		}
		s.addPermission(*r.JSON200)
		fmt.Fprintf(out, "permission %q updated\n", k)
	}
	for _, want := range f.Roles {
		k := nameKey(want.Name)
		perms := make([]policiesapi.RolePermission, len(want.Permissions))
		for i, p := range want.Permissions {
			id, err := s.permissionID(p.Permission)
			if err != nil {
				return fmt.Errorf("role %q: %w", k, err)
			}
			perms[i].Id = id
			if len(p.Resources) > 0 {
				res, err := ids(p.Resources, s.resourceID)
				if err != nil {
					return fmt.Errorf("role %q, permission %q: %w", k, p.Permission, err)
				}
				perms[i].ApplicablePermissionResources = &res
			}
		}
		in := policiesapi.RoleInput{Name: want.Name, Description: localized(want.Description), Permissions: perms}
		cur, ok, err := only("roles", k, s.roles)
		if err != nil {
			return err
		}
		if !ok {
			r, err := c.policies.CreateRoleWithResponse(ctx, t, in)
			if err != nil || r.JSON201 == nil {
				return fmt.Errorf("create role %q: %v %s", k, err, body(r))
			}
			s.addRole(*r.JSON201)
			fmt.Fprintf(out, "role %q created\n", k)
			continue
		}
		if maps(loc(cur.Name), want.Name) && maps(locp(cur.Description), want.Description) && sameRolePermissions(cur.Permissions, perms) {
			continue
		}
		in.Metadata = &policiesapi.MetadataInput{Version: cur.Metadata.Version}
		r, err := c.policies.UpdateRoleWithResponse(ctx, t, cur.Id, nil, in)
		if err != nil || r.JSON200 == nil {
			return fmt.Errorf("update role %q: %v %s", k, err, body(r))
		}
		s.addRole(*r.JSON200)
		fmt.Fprintf(out, "role %q updated\n", k)
	}
	for _, want := range f.AccessControls {
		k := nameKey(want.Name)
		role, err := s.roleID(want.Role)
		if err != nil {
			return fmt.Errorf("access control %q: %w", k, err)
		}
		res, err := s.resourceID(want.Resource)
		if err != nil {
			return fmt.Errorf("access control %q: %w", k, err)
		}
		in := policiesapi.AccessControlInput{Name: want.Name, Description: localized(want.Description), RoleId: role, ResourceId: res}
		cur, ok, err := only("access controls", k, s.acs)
		if err != nil {
			return err
		}
		if !ok {
			r, err := c.policies.CreateAccessControlWithResponse(ctx, t, in)
			if err != nil || r.JSON201 == nil {
				return fmt.Errorf("create access control %q: %v %s", k, err, body(r))
			}
			s.addAccessControl(*r.JSON201)
			fmt.Fprintf(out, "access control %q created\n", k)
			continue
		}
		if maps(loc(cur.Name), want.Name) && maps(locp(cur.Description), want.Description) && cur.RoleId == role && cur.ResourceId == res {
			continue
		}
		in.Metadata = &policiesapi.MetadataInput{Version: cur.Metadata.Version}
		r, err := c.policies.UpdateAccessControlWithResponse(ctx, t, cur.Id, nil, in)
		if err != nil || r.JSON200 == nil {
			return fmt.Errorf("update access control %q: %v %s", k, err, body(r))
		}
		s.addAccessControl(*r.JSON200)
		fmt.Fprintf(out, "access control %q updated\n", k)
	}
	for _, want := range f.Templates {
		k := nameKey(want.Name)
		acs, err := ids(want.AccessControls, s.accessControlID)
		if err != nil {
			return fmt.Errorf("template %q: %w", k, err)
		}
		in := policiesapi.TemplateInput{Name: want.Name, Description: localized(want.Description), AccessControls: acs}
		cur, ok, err := only("templates", k, s.templates)
		if err != nil {
			return err
		}
		if !ok {
			r, err := c.policies.CreateTemplateWithResponse(ctx, t, in)
			if err != nil || r.JSON201 == nil {
				return fmt.Errorf("create template %q: %v %s", k, err, body(r))
			}
			s.addTemplate(*r.JSON201)
			fmt.Fprintf(out, "template %q created\n", k)
			continue
		}
		if maps(loc(cur.Name), want.Name) && maps(locp(cur.Description), want.Description) && sameSet(cur.AccessControls, acs) {
			continue
		}
		in.Metadata = &policiesapi.MetadataInput{Version: cur.Metadata.Version}
		r, err := c.policies.UpdateTemplateWithResponse(ctx, t, cur.Id, nil, in)
		if err != nil || r.JSON200 == nil {
			return fmt.Errorf("update template %q: %v %s", k, err, body(r))
		}
		s.addTemplate(*r.JSON200)
		fmt.Fprintf(out, "template %q updated\n", k)
	}
	if len(f.Assignments) == 0 {
		return nil
	}
	names, err := subjectNames(ctx, c, t)
	if err != nil {
		return err
	}
	subjects := map[string]string{}
	for id, name := range names {
		if _, taken := subjects[name]; !taken {
			subjects[name] = id
		}
	}
	for _, want := range f.Assignments {
		subject := want.Subject
		if _, named := cutPrefix(subject, "user:"); named {
			if subject = subjects[want.Subject]; subject == "" {
				return fmt.Errorf("assignment to unknown user %q", want.Subject)
			}
		} else if _, named := cutPrefix(subject, "client:"); named {
			if subject = subjects[want.Subject]; subject == "" {
				return fmt.Errorf("assignment to unknown client %q", want.Subject)
			}
		}
		in := policiesapi.AssignmentInput{Subject: subject}
		what := ""
		switch {
		case want.AccessControl != "" && want.Template == "":
			id, err := s.accessControlID(want.AccessControl)
			if err != nil {
				return fmt.Errorf("assignment to %s: %w", want.Subject, err)
			}
			in.AccessControlId, what = &id, fmt.Sprintf("access control %q", want.AccessControl)
		case want.Template != "" && want.AccessControl == "":
			id, err := s.templateID(want.Template)
			if err != nil {
				return fmt.Errorf("assignment to %s: %w", want.Subject, err)
			}
			in.TemplateId, what = &id, fmt.Sprintf("template %q", want.Template)
		default:
			return fmt.Errorf("assignment to %s: name exactly one of accessControl and template", want.Subject)
		}
		if slices.ContainsFunc(s.assignments, func(x policiesapi.Assignment) bool {
			return x.Subject == subject && deref(x.AccessControlId) == deref(in.AccessControlId) && deref(x.TemplateId) == deref(in.TemplateId)
		}) {
			continue
		}
		r, err := c.policies.AssignWithResponse(ctx, t, nil, in)
		if err != nil || (r.JSON200 == nil && r.JSON201 == nil) {
			return fmt.Errorf("assign %s to %s: %v %s", what, want.Subject, err, body(r))
		}
		if r.JSON201 != nil {
			s.assignments = append(s.assignments, *r.JSON201)
			fmt.Fprintf(out, "%s assigned to %s\n", what, want.Subject)
		}
	}
	return nil
}
