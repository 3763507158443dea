// Command iam-policies serves the iam-policies API; see the package iampolicies.
package main

import (
	"github.com/iamplane/iam/pkg/service"

	iampolicies "github.com/iamplane/iam/services/iam-policies"
)

func main() { service.Main("iam-policies", iampolicies.Run) }
