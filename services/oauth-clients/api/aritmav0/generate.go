// Package aritmav0 is generated from openapi/dialects/aritma-v0-oauth-clients.yaml: Aritma's
// IAM API (0) for clients and secrets, served by oauth-clients. Never edit; run `make generate`.
package aritmav0

//go:generate go tool oapi-codegen -config cfg.yaml ../../../../openapi/dialects/aritma-v0-oauth-clients.yaml
