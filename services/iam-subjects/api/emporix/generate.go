// Package emporix is generated from openapi/dialects/emporix-iam-subjects.yaml: Emporix's
// IAM API (users, groups, assignments) as iam-subjects serves it. Never edit; run
// `make generate`.
package emporix

//go:generate go tool oapi-codegen -config cfg.yaml ../../../../openapi/dialects/emporix-iam-subjects.yaml
