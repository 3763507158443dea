package service

import (
	"fmt"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/problem"
)

// Dialect is a seed vendor's API served beside the native one (DESIGN.md, "Seed
// dialects"): its own paths, generated from its own spec, validated and authenticated
// against that spec, its failures answered in the seed's error shape. The handlers
// behind it translate onto the owning service's use cases, as the native handlers do.
type Dialect struct {
	// Name names the dialect in logs, e.g. "emporix".
	Name string
	// Prefixes are the path prefixes every operation of the dialect starts with, e.g.
	// "/iam/" for Emporix; no two dialects of a service, nor the native API, share one.
	Prefixes []string
	// Spec loads the dialect's spec (the generated GetSpec).
	Spec func() (*openapi3.T, error)
	// TenantParam names the path parameter that carries the tenant ("tid" for
	// Cloudentity); a token of another tenant is refused there as on the native API.
	// "" when the dialect's paths name no tenant and the token's own tenant is meant.
	TenantParam string
	// Errors writes a failure the way the seed documents its error answers; nil answers
	// an RFC 9457 problem like the native API.
	Errors func(c echo.Context, p problem.Problem) error
}

// WithDialects serves the seed dialects beside the service's native spec.
func WithDialects(dialects ...Dialect) BootOption {
	return func(o *bootOptions) { o.dialects = append(o.dialects, dialects...) }
}

// owns reports whether path belongs to the dialect.
func (d *Dialect) owns(path string) bool {
	for _, p := range d.Prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// loadedDialect is a Dialect with its spec loaded.
type loadedDialect struct {
	Dialect
	spec *openapi3.T
}

func loadDialects(ds []Dialect) ([]loadedDialect, error) {
	out := make([]loadedDialect, 0, len(ds))
	for _, d := range ds {
		spec, err := d.Spec()
		if err != nil {
			return nil, fmt.Errorf("load the %s dialect's spec: %w", d.Name, err)
		}
		out = append(out, loadedDialect{Dialect: d, spec: spec})
	}
	return out, nil
}

// dialectOf finds the dialect a path belongs to; nil for the native API.
func dialectOf(ds []loadedDialect, path string) *loadedDialect {
	for i := range ds {
		if ds[i].owns(path) {
			return &ds[i]
		}
	}
	return nil
}

// tenantOf is the tenant a request acts in: the path's tenant parameter of its API, or,
// for a dialect whose paths name none, the caller's own.
func tenantOf(c echo.Context, ds []loadedDialect) string {
	param := auth.TenantParam
	if d := dialectOf(ds, c.Request().URL.Path); d != nil {
		param = d.TenantParam
	}
	if param != "" {
		if t := c.Param(param); t != "" {
			return t
		}
	}
	if claims := auth.FromContext(c.Request().Context()); claims != nil {
		return claims.Tenant
	}
	return ""
}

// errorWriter answers a failure in the shape of the API the request was made to.
func errorWriter(ds []loadedDialect) func(c echo.Context, p problem.Problem) error {
	return func(c echo.Context, p problem.Problem) error {
		if d := dialectOf(ds, c.Request().URL.Path); d != nil && d.Errors != nil {
			return d.Errors(c, p)
		}
		return problem.Write(c, p)
	}
}

// queryParams lists, per route (method and echo path), the query parameters its
// operation declares.
type queryParams map[string]map[string]bool

// addSpec records the query parameters of every operation of spec.
func (q queryParams) addSpec(spec *openapi3.T) {
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			declared := map[string]bool{}
			for _, params := range []openapi3.Parameters{item.Parameters, op.Parameters} {
				for _, ref := range params {
					if p := ref.Value; p != nil && p.In == openapi3.ParameterInQuery {
						declared[p.Name] = true
					}
				}
			}
			q[method+" "+echoPath(path)] = declared
		}
	}
}

// echoPath turns an OpenAPI path template into the route echo registers for it, as the
// generated code does: /users/{userId} becomes /users/:userId.
func echoPath(path string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(path, '{')
		if open < 0 {
			b.WriteString(path)
			return b.String()
		}
		end := strings.IndexByte(path[open:], '}')
		if end < 0 {
			b.WriteString(path)
			return b.String()
		}
		b.WriteString(path[:open])
		b.WriteByte(':')
		b.WriteString(path[open+1 : open+end])
		path = path[open+end+1:]
	}
}

// alwaysAllowed are query parameters every operation honours without declaring them.
var alwaysAllowed = map[string]bool{"consistencyToken": true}

// undeclaredQuery refuses, with a 400 naming each, query parameters the operation does
// not declare: a client sending pageNumber where the API pages by cursor, or a filter
// the operation does not have, would otherwise get an answer that silently ignores them
// (and a client paging until a short page could loop for ever). A parameter in deepObject
// or JSON:API form (page[offset]) is checked by its name before the bracket. The OAuth
// endpoints are exempt: RFC 6749 §3.1 has them ignore parameters they do not know.
func (q queryParams) undeclaredQuery(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		declared, ok := q[c.Request().Method+" "+c.Path()]
		if !ok || c.Request().URL.RawQuery == "" || strings.Contains(c.Path(), "/oauth2/") {
			return next(c)
		}
		var bad []errs.FieldError
		for name := range c.QueryParams() {
			base, _, _ := strings.Cut(name, "[")
			if !declared[name] && !declared[base] && !alwaysAllowed[name] {
				bad = append(bad, errs.FieldError{Field: name, Message: "is not a parameter of this operation"})
			}
		}
		if len(bad) == 0 {
			return next(c)
		}
		sort.Slice(bad, func(i, j int) bool { return bad[i].Field < bad[j].Field })
		return &errs.Error{Kind: errs.BadRequest, Detail: "the request has query parameters this operation does not have", Fields: bad}
	}
}
