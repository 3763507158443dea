// Package apicommon holds the types generated from openapi/common.yaml.
package apicommon

//go:generate go tool oapi-codegen -config cfg.yaml ../../openapi/common.yaml
