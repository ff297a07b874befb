//go:build !linux

package main

import "syscall"

// cmdSysProcAttr: see proc_linux.go; other systems have no parent-death signal.
func cmdSysProcAttr() *syscall.SysProcAttr { return nil }
