// Package deploycheck renders every kustomize overlay under deploy/ and decodes each object
// strictly against the Kubernetes API types, so a misspelled field or a wrong type fails
// `make test` without a cluster. It is its own module so the Kubernetes dependencies stay
// out of the services' builds.
package deploycheck
