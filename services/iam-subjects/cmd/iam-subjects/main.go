// Command iam-subjects serves the iam-subjects API; see the package iamsubjects.
package main

import (
	"github.com/iamplane/iam/pkg/service"

	iamsubjects "github.com/iamplane/iam/services/iam-subjects"
)

func main() { service.Main("iam-subjects", iamsubjects.Run) }
