package emporix

import (
	"github.com/iamplane/iam/pkg/localize"

	api "github.com/iamplane/iam/services/iam-policies/api/emporix"
	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

// Emporix's shapes of RBAC entries. With Accept-Language, name and description are one
// string in the chosen language, as on the native API; `*` asks for every language.

func text(m map[string]string, lang string) api.Text {
	var t api.Text
	if lang != "" && lang != "*" {
		_ = t.FromText0(localize.Pick(m, lang))
	} else {
		_ = t.FromLocalizedText(m)
	}
	return t
}

func optionalText(m map[string]string, lang string) *api.Text {
	if len(m) == 0 {
		return nil
	}
	t := text(m, lang)
	return &t
}

func metadata(e *rbac.Entry) api.Metadata {
	created, modified := e.CreatedAt, e.ModifiedAt
	return api.Metadata{Version: e.Version, CreatedAt: &created, ModifiedAt: &modified}
}

func resourceOut(r *rbac.Resource, lang string) api.Resource {
	return api.Resource{Id: r.ID, Name: text(r.Name, lang), Description: optionalText(r.Description, lang), Code: r.Code, Metadata: metadata(&r.Entry)}
}

func permissionOut(p *rbac.Permission, lang string) api.Permission {
	applicable := p.ApplicableResources
	if applicable == nil {
		applicable = []string{}
	}
	return api.Permission{Id: p.ID, Name: text(p.Name, lang), Description: optionalText(p.Description, lang), Code: p.Code,
		ApplicableResources: applicable, Metadata: metadata(&p.Entry)}
}

func roleOut(r *rbac.Role, lang string) api.Role {
	out := api.Role{Id: r.ID, Name: text(r.Name, lang), Description: optionalText(r.Description, lang),
		Permissions: make([]api.RolePermission, len(r.Permissions)), Metadata: metadata(&r.Entry)}
	for i, p := range r.Permissions {
		out.Permissions[i] = api.RolePermission{Id: p.ID}
		if len(p.Resources) > 0 {
			resources := p.Resources
			out.Permissions[i].ApplicablePermissionResources = &resources
		}
	}
	return out
}

func accessControlOut(a *rbac.AccessControl, lang string) api.AccessControl {
	scopes := a.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	out := api.AccessControl{Id: a.ID, RoleId: a.RoleID, ResourceId: a.ResourceID, Name: text(a.Name, lang),
		Description: optionalText(a.Description, lang), Scopes: scopes, Metadata: metadata(&a.Entry)}
	if a.Role != nil {
		r := roleOut(a.Role, lang)
		out.Role = &r
	}
	if a.Resource != nil {
		r := resourceOut(a.Resource, lang)
		out.Resource = &r
	}
	return out
}

func accessControlsOut(found []rbac.AccessControl, lang string) []api.AccessControl {
	out := make([]api.AccessControl, len(found))
	for i := range found {
		out[i] = accessControlOut(&found[i], lang)
	}
	return out
}

// templateOut lists the template's access controls by id, or expanded, the access
// controls themselves in their place.
func templateOut(t *rbac.Template, lang string) api.Template {
	out := api.Template{Id: t.ID, Name: text(t.Name, lang), Description: optionalText(t.Description, lang), Metadata: metadata(&t.Entry)}
	if t.Details != nil {
		out.AccessControls = make([]api.TemplateAccessControl, len(t.Details))
		for i := range t.Details {
			_ = out.AccessControls[i].FromAccessControl(accessControlOut(&t.Details[i], lang))
		}
		return out
	}
	out.AccessControls = make([]api.TemplateAccessControl, len(t.AccessControls))
	for i, id := range t.AccessControls {
		_ = out.AccessControls[i].FromTemplateAccessControl0(id)
	}
	return out
}
