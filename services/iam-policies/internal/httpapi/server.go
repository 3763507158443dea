// Package httpapi translates HTTP to iam-policies' use cases and back; nothing more.
package httpapi

import (
	"github.com/iamplane/iam/services/iam-policies/api"
	"github.com/iamplane/iam/services/iam-policies/internal/actions"
	"github.com/iamplane/iam/services/iam-policies/internal/policies"
	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

// Server implements the generated strict server interface: each handler calls one use
// case.
type Server struct {
	actions  *actions.Catalog
	policies *policies.Engine
	rbac     *rbac.Catalog
}

// NewServer returns the handlers of the actions catalog, policies (with checks, tenant
// roles and entitled scopes) and RBAC.
func NewServer(catalog *actions.Catalog, engine *policies.Engine, rbacCatalog *rbac.Catalog) *Server {
	return &Server{actions: catalog, policies: engine, rbac: rbacCatalog}
}

var _ api.StrictServerInterface = (*Server)(nil)
