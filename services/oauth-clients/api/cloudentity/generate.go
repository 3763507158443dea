// Package cloudentity is generated from openapi/dialects/cloudentity-oauth-clients.yaml:
// Cloudentity's admin and developer APIs for clients and scopes, served by oauth-clients.
// Never edit; run `make generate`.
package cloudentity

//go:generate go tool oapi-codegen -config cfg.yaml ../../../../openapi/dialects/cloudentity-oauth-clients.yaml
