// Package emporix is generated from openapi/dialects/emporix-iam-policies.yaml: the
// Emporix IAM dialect of iam-policies (models and the echo strict server interface).
// Never edit; run `make generate`.
package emporix

//go:generate go tool oapi-codegen -config cfg.yaml ../../../../openapi/dialects/emporix-iam-policies.yaml
