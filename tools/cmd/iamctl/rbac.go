package main

import (
	"context"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	policiesapi "github.com/iamplane/iam/services/iam-policies/api"
)

// rbacResources are iam-policies' Emporix-style RBAC nouns: resources, permissions, roles,
// access controls and templates (CRUD, updates naming metadata.version) and assignments
// (list, create, delete).
var rbacResources = []resource{{
	name: "resources", short: "RBAC resources (what permissions apply to, by code)", columns: []string{"id", "code", "name"},
	list: func(ctx context.Context, c *apis, t string) (any, error) { return printable(allResources(ctx, c, t)) },
	get: func(ctx context.Context, c *apis, t, id string) (any, error) {
		r, err := c.policies.GetResourceWithResponse(ctx, t, id, nil)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	create: func(ctx context.Context, c *apis, t string, b []byte) (any, error) {
		in, err := decode[policiesapi.ResourceInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.policies.CreateResourceWithResponse(ctx, t, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON201, r.StatusCode(), r.Body)
	},
	update: func(ctx context.Context, c *apis, t, id string, b []byte) (any, error) {
		in, err := decode[policiesapi.ResourceInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.policies.UpdateResourceWithResponse(ctx, t, id, nil, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	del: func(ctx context.Context, c *apis, t, id string) error {
		r, err := c.policies.DeleteResourceWithResponse(ctx, t, id)
		if err != nil {
			return err
		}
		return deleted(r.StatusCode(), r.Body)
	},
}, {
	name: "permissions", short: "RBAC permissions (a code on the resources it applies to)", columns: []string{"id", "code", "name", "applicableResources"},
	list: func(ctx context.Context, c *apis, t string) (any, error) { return printable(allPermissions(ctx, c, t)) },
	get: func(ctx context.Context, c *apis, t, id string) (any, error) {
		r, err := c.policies.GetPermissionWithResponse(ctx, t, id, nil)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	create: func(ctx context.Context, c *apis, t string, b []byte) (any, error) {
		in, err := decode[policiesapi.PermissionInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.policies.CreatePermissionWithResponse(ctx, t, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON201, r.StatusCode(), r.Body)
	},
	update: func(ctx context.Context, c *apis, t, id string, b []byte) (any, error) {
		in, err := decode[policiesapi.PermissionInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.policies.UpdatePermissionWithResponse(ctx, t, id, nil, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	del: func(ctx context.Context, c *apis, t, id string) error {
		r, err := c.policies.DeletePermissionWithResponse(ctx, t, id)
		if err != nil {
			return err
		}
		return deleted(r.StatusCode(), r.Body)
	},
}, {
	name: "roles", short: "RBAC roles (sets of permissions)", columns: []string{"id", "name", "permissions"},
	list: func(ctx context.Context, c *apis, t string) (any, error) { return printable(allRoles(ctx, c, t)) },
	get: func(ctx context.Context, c *apis, t, id string) (any, error) {
		r, err := c.policies.GetRoleWithResponse(ctx, t, id, nil)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	create: func(ctx context.Context, c *apis, t string, b []byte) (any, error) {
		in, err := decode[policiesapi.RoleInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.policies.CreateRoleWithResponse(ctx, t, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON201, r.StatusCode(), r.Body)
	},
	update: func(ctx context.Context, c *apis, t, id string, b []byte) (any, error) {
		in, err := decode[policiesapi.RoleInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.policies.UpdateRoleWithResponse(ctx, t, id, nil, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	del: func(ctx context.Context, c *apis, t, id string) error {
		r, err := c.policies.DeleteRoleWithResponse(ctx, t, id)
		if err != nil {
			return err
		}
		return deleted(r.StatusCode(), r.Body)
	},
}, {
	name: "access-controls", short: "RBAC access controls (a role on a resource)", columns: []string{"id", "name", "roleId", "resourceId", "scopes"},
	list: func(ctx context.Context, c *apis, t string) (any, error) {
		return printable(allAccessControls(ctx, c, t))
	},
	get: func(ctx context.Context, c *apis, t, id string) (any, error) {
		r, err := c.policies.GetAccessControlWithResponse(ctx, t, id, nil)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	create: func(ctx context.Context, c *apis, t string, b []byte) (any, error) {
		in, err := decode[policiesapi.AccessControlInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.policies.CreateAccessControlWithResponse(ctx, t, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON201, r.StatusCode(), r.Body)
	},
	update: func(ctx context.Context, c *apis, t, id string, b []byte) (any, error) {
		in, err := decode[policiesapi.AccessControlInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.policies.UpdateAccessControlWithResponse(ctx, t, id, nil, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	del: func(ctx context.Context, c *apis, t, id string) error {
		r, err := c.policies.DeleteAccessControlWithResponse(ctx, t, id)
		if err != nil {
			return err
		}
		return deleted(r.StatusCode(), r.Body)
	},
}, {
	name: "templates", short: "RBAC templates (sets of access controls)", columns: []string{"id", "name", "accessControls"},
	list: func(ctx context.Context, c *apis, t string) (any, error) { return printable(allTemplates(ctx, c, t)) },
	get: func(ctx context.Context, c *apis, t, id string) (any, error) {
		r, err := c.policies.GetTemplateWithResponse(ctx, t, id, nil)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	create: func(ctx context.Context, c *apis, t string, b []byte) (any, error) {
		in, err := decode[policiesapi.TemplateInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.policies.CreateTemplateWithResponse(ctx, t, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON201, r.StatusCode(), r.Body)
	},
	update: func(ctx context.Context, c *apis, t, id string, b []byte) (any, error) {
		in, err := decode[policiesapi.TemplateInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.policies.UpdateTemplateWithResponse(ctx, t, id, nil, in)
		if err != nil {
			return nil, err
		}
		return answer(r.JSON200, r.StatusCode(), r.Body)
	},
	del: func(ctx context.Context, c *apis, t, id string) error {
		r, err := c.policies.DeleteTemplateWithResponse(ctx, t, id)
		if err != nil {
			return err
		}
		return deleted(r.StatusCode(), r.Body)
	},
}, {
	name: "assignments", short: "RBAC assignments (an access control or a template given to a user, client or group)",
	columns: []string{"id", "subject", "accessControlId", "templateId"},
	list:    func(ctx context.Context, c *apis, t string) (any, error) { return printable(allAssignments(ctx, c, t)) },
	create: func(ctx context.Context, c *apis, t string, b []byte) (any, error) {
		in, err := decode[policiesapi.AssignmentInput](b)
		if err != nil {
			return nil, err
		}
		r, err := c.policies.AssignWithResponse(ctx, t, nil, in)
		if err != nil {
			return nil, err
		}
		if r.JSON200 != nil { // it was already assigned
			return r.JSON200, nil
		}
		return answer(r.JSON201, r.StatusCode(), r.Body)
	},
	del: func(ctx context.Context, c *apis, t, id string) error {
		r, err := c.policies.UnassignWithResponse(ctx, t, id)
		if err != nil {
			return err
		}
		return deleted(r.StatusCode(), r.Body)
	},
}}

// effectiveCmd shows what RBAC gives a subject (user-<id>, client-<id>, group-<id>),
// through its groups and templates.
func (a *app) effectiveCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "effective", Short: "Show a subject's effective RBAC access: access controls, permissions on a resource, scopes"}
	run := func(columns []string, f func(ctx context.Context, c *apis, tenant string, args []string) (any, error)) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			c, cfg, err := a.connect(cmd.Context())
			if err != nil {
				return err
			}
			out, err := f(cmd.Context(), c, a.target(cfg), args)
			if err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), out, columns)
		}
	}
	cmd.AddCommand(&cobra.Command{Use: "access-controls SUBJECT [RESOURCE]", Short: "The access controls assigned to the subject or its groups (on one resource, by id or code)",
		Args: cobra.RangeArgs(1, 2),
		RunE: run([]string{"id", "name", "resourceId", "scopes"}, func(ctx context.Context, c *apis, t string, args []string) (any, error) {
			if len(args) == 1 {
				return printable(allEffectiveAccessControls(ctx, c, t, args[0]))
			}
			res, err := resourceID(ctx, c, t, args[1])
			if err != nil {
				return nil, err
			}
			return printable(allEffectiveAccessControlsOn(ctx, c, t, args[0], res))
		})})
	cmd.AddCommand(&cobra.Command{Use: "permissions SUBJECT RESOURCE", Short: "The permissions the subject has on a resource (by id or code)",
		Args: cobra.ExactArgs(2),
		RunE: run([]string{"id", "code", "name"}, func(ctx context.Context, c *apis, t string, args []string) (any, error) {
			res, err := resourceID(ctx, c, t, args[1])
			if err != nil {
				return nil, err
			}
			r, err := c.policies.GetEffectivePermissionsWithResponse(ctx, t, args[0], res, nil)
			if err != nil {
				return nil, err
			}
			if r.JSON200 == nil {
				return answer(r.JSON200, r.StatusCode(), r.Body)
			}
			if a.output == "table" { // a row per permission
				return map[string]any{"data": r.JSON200.Permissions}, nil
			}
			return r.JSON200, nil
		})})
	cmd.AddCommand(&cobra.Command{Use: "scopes SUBJECT", Short: "The OAuth scopes the subject is entitled to (policies on / and RBAC)",
		Args: cobra.ExactArgs(1),
		RunE: run([]string{"subjectId", "scopes"}, func(ctx context.Context, c *apis, t string, args []string) (any, error) {
			r, err := c.policies.GetEffectiveScopesWithResponse(ctx, t, args[0], nil)
			if err != nil {
				return nil, err
			}
			return answer(r.JSON200, r.StatusCode(), r.Body)
		})})
	return cmd
}

// resourceID takes a resource's id, or its code, which it looks up.
func resourceID(ctx context.Context, c *apis, t, idOrCode string) (string, error) {
	if _, err := uuid.Parse(idOrCode); err == nil {
		return idOrCode, nil
	}
	all, err := allResources(ctx, c, t)
	if err != nil {
		return "", err
	}
	for _, x := range all {
		if x.Code == idOrCode {
			return x.Id, nil
		}
	}
	return "", fail("no resource has the code %q", idOrCode)
}
