package pgcluster

import "syscall"

// sysProcAttr runs a PostgreSQL binary as cred (nil: as ourselves). Pdeathsig makes the
// kernel kill the postmaster when we die, so a crashed `make dev` or a test binary killed
// on timeout leaves no orphan server holding the port and the data directory. (The signal
// follows the forking OS thread, which Go retires only when a goroutine exits while locked
// to it; nothing here does that.)
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
}
