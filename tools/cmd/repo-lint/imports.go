package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"strings"
)

const module = "github.com/iamplane/iam/"

// pkg is one package with what it imports; tests' imports are kept apart because a
// domain package's test may reach further than the package itself.
type pkg struct {
	path        string
	imports     []string
	testImports []string
}

func listPackages(patterns []string) ([]pkg, error) {
	args := append([]string{"list", "-e", "-f",
		`{{.ImportPath}}|{{join .Imports " "}}|{{join .TestImports " "}} {{join .XTestImports " "}}`}, patterns...)
	cmd := exec.Command("go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w\n%s", err, stderr.String())
	}
	var pkgs []pkg
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), "|", 3)
		if len(parts) != 3 {
			continue
		}
		pkgs = append(pkgs, pkg{path: parts[0], imports: strings.Fields(parts[1]), testImports: strings.Fields(parts[2])})
	}
	return pkgs, sc.Err()
}

// adapters are the packages of a service that may reach infrastructure; every other
// package under internal/ is a domain package (types, rules, use cases).
var adapters = map[string]bool{"httpapi": true, "postgres": true, "events": true}

// infrastructure is what a domain package never imports: storage drivers and HTTP.
var infrastructure = []string{"github.com/jmoiron/sqlx", "github.com/lib/pq", "github.com/labstack/echo"}

// checkImports enforces the direction of dependencies:
//   - internal/<domain> never imports sqlx, lib/pq, echo, the service's api package or
//     its internal/postgres;
//   - internal/httpapi never imports internal/postgres (handlers reach storage only
//     through the use cases);
//   - a service never imports another service, and pkg/ imports no service.
func checkImports(pkgs []pkg) []string {
	var problems []string
	for _, p := range pkgs {
		svc, rest := serviceOf(p.path)
		for _, imp := range append(append([]string{}, p.imports...), p.testImports...) {
			if other, _ := serviceOf(imp); other != "" && other != svc &&
				(svc != "" || strings.HasPrefix(p.path, module+"pkg")) {
				problems = append(problems, fmt.Sprintf("%s imports %s: services never import each other (pkg/ imports none)", p.path, imp))
			}
		}
		if svc == "" || !strings.HasPrefix(rest, "internal/") {
			continue
		}
		layer, _, _ := strings.Cut(strings.TrimPrefix(rest, "internal/"), "/")
		base := module + "services/" + svc + "/"
		for _, imp := range p.imports {
			switch {
			case layer == "httpapi" && isUnder(imp, base+"internal/postgres"):
				problems = append(problems, fmt.Sprintf("%s imports %s: handlers reach storage only through the use cases", p.path, imp))
			case !adapters[layer] && (isUnder(imp, base+"internal/postgres") || isUnder(imp, base+"api") || isInfrastructure(imp)):
				problems = append(problems, fmt.Sprintf("%s imports %s: a domain package depends on no adapter, driver or HTTP code", p.path, imp))
			}
		}
	}
	return problems
}

// serviceOf splits a package path under services/ into the service and the rest.
func serviceOf(path string) (svc, rest string) {
	tail, ok := strings.CutPrefix(path, module+"services/")
	if !ok {
		return "", ""
	}
	svc, rest, _ = strings.Cut(tail, "/")
	return svc, rest
}

func isUnder(path, prefix string) bool { return path == prefix || strings.HasPrefix(path, prefix+"/") }

func isInfrastructure(path string) bool {
	for _, p := range infrastructure {
		if isUnder(path, p) {
			return true
		}
	}
	return false
}
