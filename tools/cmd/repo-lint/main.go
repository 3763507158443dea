// Command repo-lint checks what reviewers would otherwise have to remember: no built binary
// or large file is tracked in git, and dependencies point one way (domain <- use cases <-
// HTTP / PostgreSQL / NATS adapters; services never import each other). `make lint` runs
// it from the repository root with the workspace's package patterns as arguments.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "repo-lint:", err)
		os.Exit(1)
	}
}

func run(patterns []string, out io.Writer) error {
	files, err := trackedFiles()
	if err != nil {
		return err
	}
	pkgs, err := listPackages(patterns)
	if err != nil {
		return err
	}
	problems := append(checkFiles(files), checkImports(pkgs)...)
	for _, p := range problems {
		fmt.Fprintln(out, p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problem(s)", len(problems))
	}
	fmt.Fprintf(out, "repo-lint: %d tracked files and %d packages clean\n", len(files), len(pkgs))
	return nil
}

// trackedFile is one entry of the git index.
type trackedFile struct {
	path       string
	executable bool
	size       int64
	head       []byte // the first bytes, enough to recognise a binary or a generated file
}

func trackedFiles() ([]trackedFile, error) {
	raw, err := exec.Command("git", "ls-files", "-s", "-z").Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files: %w", err)
	}
	var files []trackedFile
	for _, entry := range bytes.Split(raw, []byte{0}) {
		// "<mode> <object> <stage>\t<path>"
		meta, path, ok := strings.Cut(string(entry), "\t")
		if !ok {
			continue
		}
		f := trackedFile{path: path, executable: strings.HasPrefix(meta, "100755")}
		fh, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the work tree, not yet committed
		}
		if err != nil {
			return nil, err
		}
		fi, err := fh.Stat()
		if err == nil {
			f.size = fi.Size()
			f.head = make([]byte, 8192)
			n, _ := io.ReadFull(fh, f.head)
			f.head = f.head[:n]
		}
		fh.Close()
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// maxFileSize is the largest hand-written file git may hold; generated code (the api
// packages, the SDK's types) may be larger because it is rebuilt, never reviewed.
const maxFileSize = 1 << 20

func checkFiles(files []trackedFile) []string {
	var problems []string
	for _, f := range files {
		switch {
		case isBinaryExecutable(f):
			problems = append(problems, fmt.Sprintf("%s: a built binary is tracked; `git rm --cached` it and ignore it", f.path))
		case f.size > maxFileSize && !isGenerated(f):
			problems = append(problems, fmt.Sprintf("%s: %d bytes; files over %d bytes that are not generated code do not belong in git", f.path, f.size, maxFileSize))
		}
	}
	return problems
}

// isBinaryExecutable recognises executables by their magic numbers (ELF, Mach-O, PE),
// and any file marked executable whose start holds a NUL byte, which text never does.
func isBinaryExecutable(f trackedFile) bool {
	for _, magic := range [][]byte{{0x7f, 'E', 'L', 'F'}, {0xcf, 0xfa, 0xed, 0xfe}, {0xfe, 0xed, 0xfa, 0xcf}, {'M', 'Z'}} {
		if bytes.HasPrefix(f.head, magic) {
			return true
		}
	}
	return f.executable && bytes.IndexByte(f.head, 0) >= 0
}

// isGenerated follows Go's convention (a "Code generated ... DO NOT EDIT." line) and the
// SDK's folder of generated types.
func isGenerated(f trackedFile) bool {
	return strings.HasPrefix(f.path, "tools/sdk-ts/src/generated/") ||
		(bytes.Contains(f.head, []byte("Code generated")) && bytes.Contains(f.head, []byte("DO NOT EDIT")))
}
