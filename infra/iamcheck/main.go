// Command iamcheck holds what the code calls on AWS to the committed IAM
// action sets that Terraform's policies are built from and tested against.
//
//	go run ./infra/iamcheck check -records build/iam-record -sets terraform/iam
//	go run ./infra/iamcheck write -records build/iam-record -sets terraform/iam
//
// check fails (exit 1) when a component performed an action on a resource
// its set lacks (AWS would answer AccessDenied), when a set grants a recorded
// entry that nothing performed, when a set was not recorded at all (unless
// the code it awaits does not exist yet), or when a component or resource
// cannot be classified. The application's commands (local.json) are held to
// the application's grants. write regenerates the sets' recorded entries from a recording
// (`make iam-sets`), for a deliberate change of the code's calls.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/payments-hub/hub/internal/iamrecord"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "check" && os.Args[1] != "write") {
		fmt.Fprintln(os.Stderr, "usage: iamcheck check|write -records DIR -sets DIR")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	recordsDir := fs.String("records", "build/iam-record", "directory of the recordings (HUB_IAM_RECORD_DIR of the test run)")
	setsDir := fs.String("sets", "terraform/iam", "directory of the committed action sets")
	root := fs.String("root", ".", "the repository's root, where a set's awaits_code is looked up")
	_ = fs.Parse(os.Args[2:])

	records, err := iamrecord.ReadDir(*recordsDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "iamcheck:", err)
		os.Exit(1)
	}
	sets, local, err := loadSets(*setsDir, *root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "iamcheck:", err)
		os.Exit(1)
	}
	if os.Args[1] == "write" {
		if err := Rewrite(records, sets, local); err != nil {
			fmt.Fprintln(os.Stderr, "iamcheck:", err)
			os.Exit(1)
		}
		fmt.Printf("iamcheck: %d sets rewritten from %d records; review `git diff %s`\n", len(sets), len(records), *setsDir)
		return
	}
	rep := Check(records, sets, local)
	if rep.Failed() {
		fmt.Fprint(os.Stderr, rep.String())
		fmt.Fprintln(os.Stderr, "iamcheck: FAIL")
		os.Exit(1)
	}
	for _, a := range rep.Awaiting {
		fmt.Printf("iamcheck: not yet held: %s\n", a)
	}
	fmt.Printf("iamcheck: %d recorded operations match the %d committed action sets\n", rep.Records, len(sets))
}
