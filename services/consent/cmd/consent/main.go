// Command consent serves the consent API; see the package consent.
package main

import (
	"github.com/iamplane/iam/pkg/service"

	consent "github.com/iamplane/iam/services/consent"
)

func main() { service.Main("consent", consent.Run) }
