package cluster

import "syscall"

// sysProcAttr has the kernel kill a process the harness started if the
// test process dies without stopping it (go test's -timeout, a crash):
// nothing is left behind even then.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
