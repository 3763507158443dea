// Package cloudentity is generated from openapi/dialects/cloudentity-consent.yaml:
// Cloudentity's consent admin API as the consent service serves it (models, the echo
// strict server interface, a Go client). Never edit; run `make generate`.
package cloudentity

//go:generate go tool oapi-codegen -config cfg.yaml ../../../../openapi/dialects/cloudentity-consent.yaml
