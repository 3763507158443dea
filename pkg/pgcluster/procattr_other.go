//go:build unix && !linux

package pgcluster

import "syscall"

// sysProcAttr runs a PostgreSQL binary as cred (nil: as ourselves). Only Linux can tie the
// child's life to ours; elsewhere an orphaned server must be stopped by hand.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}
