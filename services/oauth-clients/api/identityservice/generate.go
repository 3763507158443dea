// Package identityservice is generated from openapi/dialects/identityservice-oauth-clients.yaml:
// the Identity Service's JSON:API for clients, served by oauth-clients. Never edit; run
// `make generate`.
package identityservice

//go:generate go tool oapi-codegen -config cfg.yaml ../../../../openapi/dialects/identityservice-oauth-clients.yaml
