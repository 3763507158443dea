package main

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	openapi_types "github.com/oapi-codegen/runtime/types"

	clientsapi "github.com/iamplane/iam/services/oauth-clients/api"
)

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// body is a generated response's status and raw body (the problem), for error messages.
// Every generated *Response has a Body field; r is nil when the request itself failed.
func body(r interface{ StatusCode() int }) string {
	v := reflect.ValueOf(r)
	if r == nil || v.IsNil() {
		return ""
	}
	b, _ := v.Elem().FieldByName("Body").Interface().([]byte)
	return fmt.Sprintf("%d %s", r.StatusCode(), strings.TrimSpace(string(b)))
}

func grantTypes(xs []string) *[]clientsapi.ClientInputGrantTypes {
	if len(xs) == 0 {
		return nil
	}
	out := make([]clientsapi.ClientInputGrantTypes, len(xs))
	for i, x := range xs {
		out[i] = clientsapi.ClientInputGrantTypes(x)
	}
	return &out
}

func same(a, b fileClient) bool {
	return a.Name == b.Name && a.Description == b.Description && a.Public == b.Public &&
		sameSet(a.Scopes, b.Scopes) && sameSet(a.Redirects, b.Redirects) && (len(b.GrantTypes) == 0 || sameSet(a.GrantTypes, b.GrantTypes))
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func cutPrefix(s, p string) (string, bool) { return strings.CutPrefix(s, p) }

func openapiEmail(s string) openapi_types.Email { return openapi_types.Email(s) }

// orEmpty keeps a YAML list that was left out from becoming a JSON null.
func orEmpty(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}
