package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payments-hub/hub/internal/iamrecord"
)

func writeSets(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]any{
		"ingest.json": Set{About: "a", Components: []string{"ingest"},
			Recorded:    []Entry{{Action: "sqs:SendMessage", Resource: "queue"}},
			Handwritten: []Entry{{Action: "logs:PutLogEvents", Resource: "log-group", Why: "Lambda"}}},
		"operator.json": Set{About: "o", Components: []string{"hubctl failed", "hubctl transactions"},
			Recorded: []Entry{{Action: "sqs:ReceiveMessage", Resource: "dlq"}, {Action: "dynamodb:GetItem", Resource: "transactions-table"}},
			Handwritten: []Entry{{Action: "dynamodb:Query", Resource: "transactions-table/index/i", Why: "soon", UntilRecorded: true},
				{Action: "sqs:SendMessage", Resource: "queue", Why: "move task"}}},
		"local.json": Local{About: "l", Components: map[string]string{"hubctl dev": "local", "hubctl transactions expect": "the application's"},
			Application: &Application{About: "a", Components: []string{"hubctl transactions expect"},
				Grants: []Entry{{Action: "dynamodb:GetItem", Resource: "transactions-table"}, {Action: "dynamodb:PutItem", Resource: "transactions-table"}}}},
		// Written ahead of its code (cmd/redrive.go under the repository's root).
		"redriver.json": Set{About: "r", Components: []string{"redriver"}, AwaitsCode: "cmd/redrive.go",
			Handwritten: []Entry{{Action: "sqs:SendMessage", Resource: "queue", Why: "soon", UntilRecorded: true}}},
	}
	for name, v := range files {
		b, _ := json.Marshal(v)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func recs(lines ...string) []iamrecord.Record {
	var out []iamrecord.Record
	for _, l := range lines {
		f := strings.SplitN(l, "|", 3)
		out = append(out, iamrecord.Record{Component: f[0], Action: f[1], Resource: f[2]})
	}
	return out
}

var matching = []string{
	"ingest|sqs:SendMessage|queue",
	"hubctl failed list|sqs:ReceiveMessage|dlq",
	"hubctl transactions get|dynamodb:GetItem|transactions-table",
	"hubctl dev|sqs:CreateQueue|queue",                               // local: held to nothing
	"hubctl transactions expect|dynamodb:PutItem|transactions-table", // local, though "hubctl transactions" is the operator's
}

// withCode creates the file a set awaits under a new repository root.
func withCode(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "cmd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "cmd", "redrive.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestCheck(t *testing.T) {
	t.Parallel()
	dir := writeSets(t)
	sets, local, err := loadSets(dir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The same sets once the redriver's code exists.
	setsWithCode, _, err := loadSets(dir, withCode(t))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		records []iamrecord.Record
		sets    []*Set   // nil: the sets without the redriver's code
		want    []string // substrings of the report; none means it passes
	}{
		{"the recording matches", recs(matching...), nil, nil},
		{"the code a set awaits exists but nothing recorded it", recs(matching...), setsWithCode,
			[]string{"no recording for the redriver set"}},
		{"the code a set awaits exists and ran", recs(append(matching, "redriver|sqs:SendMessage|queue")...), setsWithCode, nil},
		{"a call beyond a set written ahead of its code", recs(append(matching, "redriver|sqs:PurgeQueue|dlq")...), nil,
			[]string{"NOT GRANTED: redriver performed sqs:PurgeQueue on dlq, which terraform/iam/redriver.json lacks"}},
		{"the application's command beyond its grants", recs(append(matching, "hubctl transactions expect|dynamodb:DeleteItem|transactions-table")...), nil,
			[]string{"NOT GRANTED: hubctl transactions expect performed dynamodb:DeleteItem on transactions-table, which the application grants of terraform/iam/local.json lacks"}},
		{"the application's command on an unclassified table", recs(append(matching, "hubctl transactions expect|dynamodb:GetItem|unknown:table x")...), nil,
			[]string{"unclassified resource: hubctl transactions expect: dynamodb:GetItem on unknown:table x"}},
		{"an action the set lacks", recs(append(matching, "hubctl failed flush|sqs:PurgeQueue|dlq")...), nil,
			[]string{"NOT GRANTED: hubctl failed flush performed sqs:PurgeQueue on dlq, which terraform/iam/operator.json lacks"}},
		{"the right action on the wrong resource", recs(append(matching, "ingest|sqs:SendMessage|dlq")...), nil,
			[]string{"NOT GRANTED: ingest performed sqs:SendMessage on dlq"}},
		{"a grant nothing uses", recs(matching[:2]...), nil,
			[]string{"NEVER CALLED: terraform/iam/operator.json grants dynamodb:GetItem on transactions-table"}},
		{"a component no set claims", recs(append(matching, "hubctl frobnicate|sqs:ListQueues|*")...), nil,
			[]string{`component "hubctl frobnicate" belongs to no action set`}},
		{"an unclassified resource", recs(append(matching, "ingest|sqs:SendMessage|unknown:queue x")...), nil,
			[]string{"unclassified resource: ingest: sqs:SendMessage on unknown:queue x"}},
		{"a set that never ran", recs(matching[0]), nil,
			[]string{"no recording for the operator set"}},
		{"nothing recorded", nil, nil, []string{"no AWS operation was recorded"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := c.sets
			if s == nil {
				s = sets
			}
			rep := Check(c.records, s, local)
			if len(c.want) == 0 {
				if rep.Failed() {
					t.Fatalf("failed:\n%s", rep)
				}
				return
			}
			if !rep.Failed() {
				t.Fatal("passed")
			}
			for _, w := range c.want {
				if !strings.Contains(rep.String(), w) {
					t.Fatalf("report lacks %q:\n%s", w, rep)
				}
			}
		})
	}
}

func TestAwaitingSetIsReported(t *testing.T) {
	t.Parallel()
	sets, local, err := loadSets(writeSets(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rep := Check(recs(matching...), sets, local)
	if want := "the redriver set awaits cmd/redrive.go, which does not exist yet"; len(rep.Awaiting) != 1 || !strings.Contains(rep.Awaiting[0], want) {
		t.Fatalf("awaiting %q, want one note with %q", rep.Awaiting, want)
	}
}

func TestRewrite(t *testing.T) {
	t.Parallel()
	dir := writeSets(t)
	root := t.TempDir()
	sets, local, err := loadSets(dir, root)
	if err != nil {
		t.Fatal(err)
	}
	records := recs(
		"ingest|sqs:SendMessage|queue",
		"ingest|logs:PutLogEvents|log-group", // also hand-written: stays hand-written only
		"hubctl failed retry|sqs:SendMessage|queue",
		"hubctl failed list|sqs:ReceiveMessage|dlq",
		"hubctl failed flush|sqs:PurgeQueue|dlq",
		"hubctl transactions get|dynamodb:Query|transactions-table/index/i", // the anticipated call arrives
	)
	if err := Rewrite(records, sets, local); err != nil {
		t.Fatal(err)
	}
	sets, local, err = loadSets(dir, root)
	if err != nil {
		t.Fatal(err)
	}
	if rep := Check(records, sets, local); rep.Failed() {
		t.Fatalf("the rewritten sets fail their own recording:\n%s", rep)
	}
	op, _ := json.Marshal(set(t, sets, "operator"))
	want := `"recorded":[{"action":"sqs:PurgeQueue","resource":"dlq"},{"action":"sqs:ReceiveMessage","resource":"dlq"},{"action":"dynamodb:Query","resource":"transactions-table/index/i"}],"handwritten":[{"action":"sqs:SendMessage","resource":"queue","why":"move task"}]`
	if !strings.Contains(string(op), want) {
		t.Fatalf("operator set %s\nwant it to hold %s", op, want)
	}
	// A set still awaiting its code keeps its anticipated grants, and an
	// empty recorded list stays a list: Terraform concatenates it.
	rd, _ := os.ReadFile(filepath.Join(dir, "redriver.json"))
	for _, w := range []string{`"awaits_code": "cmd/redrive.go"`, `"recorded": []`, `"until_recorded": true`} {
		if !strings.Contains(string(rd), w) {
			t.Fatalf("redriver.json %s\nlacks %s", rd, w)
		}
	}

	// Its code lands and runs: the anticipated call becomes recorded, and
	// the set no longer awaits anything.
	root = withCode(t)
	sets, local, err = loadSets(dir, root)
	if err != nil {
		t.Fatal(err)
	}
	records = append(records, recs("redriver|sqs:SendMessage|queue")...)
	if err := Rewrite(records, sets, local); err != nil {
		t.Fatal(err)
	}
	sets, _, err = loadSets(dir, root)
	if err != nil {
		t.Fatal(err)
	}
	r := set(t, sets, "redriver")
	if r.AwaitsCode != "" || len(r.Handwritten) != 0 || len(r.Recorded) != 1 || r.Recorded[0].key() != "sqs:SendMessage on queue" {
		t.Fatalf("redriver set after its recording: %+v", r)
	}

	// A recording with an unclassified component is never written.
	if err := Rewrite(recs("hubctl frobnicate|sqs:ListQueues|*"), sets, local); err == nil {
		t.Fatal("rewrote sets from an unclassifiable recording")
	}
}

func set(t *testing.T, sets []*Set, name string) *Set {
	t.Helper()
	for _, s := range sets {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("no %s set", name)
	return nil
}

// The committed sets (terraform/iam) give every component the code labels
// its AWS clients with (boot.AWSConfig) to the role or policy that runs it on AWS.
func TestCommittedSetsClassifyEveryComponent(t *testing.T) {
	t.Parallel()
	sets, local, err := loadSets(filepath.Join("..", "..", "terraform", "iam"), filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for component, want := range map[string]string{
		"ingest":    "ingest",
		"processor": "processor",
		// hubctl work processes as the processor does; its redrive pass, like
		// hubctl dev's, is labelled redriver.
		"hubctl work": "processor",
		"redriver":    "redriver",
		// The on-call engineer's commands.
		"hubctl status":           "operator",
		"hubctl failed list":      "operator",
		"hubctl failed retry":     "operator",
		"hubctl failed moves":     "operator",
		"hubctl failed forget":    "operator",
		"hubctl failed flush":     "operator",
		"hubctl records":          "operator",
		"hubctl transactions get": "operator",
		"hubctl events get":       "operator",
		// Never with a deployment's role.
		"hubctl dev":                 "local",
		"hubctl setup":               "local",
		"hubctl send stripe":         "local",
		"hubctl completion bash":     "local",
		"hubctl transactions expect": "local",
		// Nothing claims a command nobody classified: the check fails on it.
		"hubctl frobnicate": "",
	} {
		s, reason := classify(component, sets, local)
		got := ""
		switch {
		case s != nil:
			got = s.name
		case reason != "":
			got = "local"
		}
		if got != want {
			t.Errorf("%s belongs to %q, want %q", component, got, want)
		}
	}
	if !local.Application.claims("hubctl transactions expect") {
		t.Error("the application's grants do not hold hubctl transactions expect")
	}
}
