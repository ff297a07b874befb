package main

import "syscall"

// cmdSysProcAttr makes the kernel send CMD a SIGTERM if this launcher dies without running
// its cleanup (kill -9): its servers die with it (see internal/localaws), so CMD would only
// go on failing against endpoints that no longer exist.
func cmdSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
