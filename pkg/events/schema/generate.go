// Package schema holds the Go types of every event payload, generated from
// openapi/events.yaml: the contract between publishers and consumers.
package schema

//go:generate go tool oapi-codegen -config cfg.yaml ../../../openapi/events.yaml
