package service

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/iamplane/iam/pkg/errs"
)

// Case-variant keys. Go's encoding/json matches an object's keys to a struct's fields
// regardless of case (by Unicode simple folding: "Version", "VERSION" and even
// "ver\u017fion" all fill `json:"version"`), while the spec's validator matches them
// exactly. Where a schema allows properties it does not declare, a body
// {"metadata": {"Version": 3}} passes the validator as an unknown extra and reaches the
// handler as version 3. cleanInput already refuses two keys differing only in case; this
// refuses the lone variant: a key that is not a declared property of its object but
// matches one when case is ignored, with a 400 naming the key (RFC 7591 registration
// bodies included: its error object, invalid_client_metadata). Keys of free-form maps
// (additionalProperties) are data, never matched.

// bodySchemas maps an operation (method and echo route) to its JSON request body's schema.
type bodySchemas map[string]*openapi3.Schema

func (b bodySchemas) addSpec(spec *openapi3.T) {
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			for mediaType, content := range op.RequestBody.Value.Content {
				if isJSON(mediaType) && content.Schema != nil && content.Schema.Value != nil {
					b[method+" "+echoPath(path)] = content.Schema.Value
				}
			}
		}
	}
}

func isJSON(contentType string) bool {
	mediaType, _, _ := mime.ParseMediaType(contentType)
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
}

// caseVariantKeys refuses JSON keys that match a declared property only when case is
// ignored. It runs after the validator, so a request without a valid token is still a
// 401 first.
func (b bodySchemas) caseVariantKeys(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		schema, ok := b[req.Method+" "+c.Path()]
		if !ok || req.Body == nil || req.Body == http.NoBody || !isJSON(req.Header.Get(echo.HeaderContentType)) {
			return next(c)
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var doc any
		if err := dec.Decode(&doc); err != nil {
			return next(c) // malformed JSON is the validator's to report
		}
		var bad []errs.FieldError
		walkCase(schema, doc, "body", &bad, 0)
		if len(bad) == 0 {
			return next(c)
		}
		sort.Slice(bad, func(i, j int) bool { return bad[i].Field < bad[j].Field })
		if strings.Contains(c.Path(), "/oauth2/") {
			code := "invalid_request"
			if strings.Contains(c.Path(), "/oauth2/register") {
				code = "invalid_client_metadata" // RFC 7591 §3.2.2
			}
			return c.JSON(http.StatusBadRequest, map[string]string{"error": code,
				"error_description": fmt.Sprintf("%s %s", bad[0].Field, bad[0].Message)})
		}
		return &errs.Error{Kind: errs.BadRequest, Detail: "the request has keys that match a property only when case is ignored (keys are case-sensitive)", Fields: bad}
	}
}

// maxSchemaDepth bounds the walk through nested compositions of a schema.
const maxSchemaDepth = 32

// walkCase checks value against schema: an object's keys against the properties it
// declares, recursing into declared properties, additional properties and array items.
func walkCase(s *openapi3.Schema, value any, path string, bad *[]errs.FieldError, depth int) {
	if s == nil || depth > maxSchemaDepth {
		return
	}
	switch v := value.(type) {
	case map[string]any:
		shape := shapeOf(s)
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, key := range keys {
			if sub, ok := shape.props[key]; ok {
				walkCase(sub, v[key], path+"."+key, bad, depth+1)
				continue
			}
			if name := shape.folded(key); name != "" {
				*bad = append(*bad, errs.FieldError{Field: path + "." + key,
					Message: fmt.Sprintf("is not a property here; %q is (keys are case-sensitive)", name)})
				continue
			}
			walkCase(shape.additional, v[key], path+"."+key, bad, depth+1)
		}
	case []any:
		items := shapeOf(s).items
		for i, item := range v {
			walkCase(items, item, fmt.Sprintf("%s.%d", path, i), bad, depth+1)
		}
	}
}

// shape is what an object or array schema declares, its compositions (allOf, oneOf,
// anyOf) merged: a key is declared if any alternative declares it.
type shape struct {
	props      map[string]*openapi3.Schema
	names      []string
	additional *openapi3.Schema // the schema of undeclared keys' values, if any
	items      *openapi3.Schema
}

// folded returns the declared property key matches when case is ignored, as Go's
// decoder would match it, or "".
func (sh *shape) folded(key string) string {
	for _, name := range sh.names {
		if strings.EqualFold(name, key) {
			return name
		}
	}
	return ""
}

var shapes sync.Map // *openapi3.Schema -> *shape; specs are immutable once loaded

func shapeOf(s *openapi3.Schema) *shape {
	if sh, ok := shapes.Load(s); ok {
		return sh.(*shape)
	}
	sh := &shape{props: map[string]*openapi3.Schema{}}
	collectShape(s, sh, 0)
	for name := range sh.props {
		sh.names = append(sh.names, name)
	}
	sort.Strings(sh.names)
	actual, _ := shapes.LoadOrStore(s, sh)
	return actual.(*shape)
}

func collectShape(s *openapi3.Schema, sh *shape, depth int) {
	if s == nil || depth > maxSchemaDepth {
		return
	}
	for name, ref := range s.Properties {
		if _, ok := sh.props[name]; !ok && ref != nil {
			sh.props[name] = ref.Value
		}
	}
	if sh.additional == nil && s.AdditionalProperties.Schema != nil {
		sh.additional = s.AdditionalProperties.Schema.Value
	}
	if sh.items == nil && s.Items != nil {
		sh.items = s.Items.Value
	}
	for _, group := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf} {
		for _, ref := range group {
			if ref != nil {
				collectShape(ref.Value, sh, depth+1)
			}
		}
	}
}
