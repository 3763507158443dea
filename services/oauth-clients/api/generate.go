// Package api is generated from openapi/oauth-clients.yaml: models, the echo strict server
// interface, and the Go client other teams use as this service's SDK. Never edit; run
// `make generate`.
package api

//go:generate go tool oapi-codegen -config cfg.yaml ../../../openapi/oauth-clients.yaml
