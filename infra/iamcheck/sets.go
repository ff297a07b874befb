package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/payments-hub/hub/internal/iamrecord"
)

// Entry is one grant of a set: an IAM action on a kind of resource.
type Entry struct {
	Action   string `json:"action"`
	Resource string `json:"resource"`
	// Why says why a hand-written entry is needed although no recording
	// shows it (a call AWS makes with the role, not the code).
	Why string `json:"why,omitempty"`
	// UntilRecorded marks a hand-written entry that anticipates a call the
	// code does not make yet: `write` moves it to Recorded once recorded.
	UntilRecorded bool `json:"until_recorded,omitempty"`
}

func (e Entry) key() string { return e.Action + " on " + e.Resource }

// Set is one committed action set (terraform/iam/<name>.json): what one role
// or policy must grant, no more.
type Set struct {
	About string `json:"about"`
	// Components whose recordings belong to this set: a name matches itself
	// and every longer label that starts with it and a space ("hubctl failed"
	// matches "hubctl failed list").
	Components []string `json:"components"`
	// AwaitsCode names, from the repository's root, the file whose code
	// will make the set's calls, when Terraform is written ahead of it: while
	// that file does not exist, a set none of whose components ran is
	// reported and passes; once it exists, the set must be recorded like any
	// other. `write` drops it once the set is recorded.
	AwaitsCode  string  `json:"awaits_code,omitempty"`
	Recorded    []Entry `json:"recorded"`
	Handwritten []Entry `json:"handwritten"`

	name, path string
	// codeExists tells whether AwaitsCode exists (set by loadSets).
	codeExists bool
}

// Local lists the components that never run on AWS with a deployed role
// (terraform/iam/local.json), each with the reason.
type Local struct {
	About      string            `json:"about"`
	Components map[string]string `json:"components"`
	// Application is what the application that creates payments runs with
	// its own role (terraform output application_policy_json is built from
	// Grants): its components' recorded calls must stay within Grants.
	Application *Application `json:"application,omitempty"`
}

// Application is the part of the hub another application runs with its own
// role, and the grants that role needs.
type Application struct {
	About      string   `json:"about"`
	Components []string `json:"components"`
	Grants     []Entry  `json:"grants"`
}

func (a *Application) claims(component string) bool {
	if a == nil {
		return false
	}
	for _, c := range a.Components {
		if matches(c, component) {
			return true
		}
	}
	return false
}

func (a *Application) grants(key string) bool { return slices.ContainsFunc(a.Grants, hasKey(key)) }

const localFile = "local.json"

// loadSets reads the sets in dir; root is the repository's root, against
// which each set's AwaitsCode is looked up.
func loadSets(dir, root string) ([]*Set, Local, error) {
	var local Local
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, local, err
	}
	var sets []*Set
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, local, err
		}
		if filepath.Base(p) == localFile {
			if err := json.Unmarshal(b, &local); err != nil {
				return nil, local, fmt.Errorf("%s: %w", p, err)
			}
			continue
		}
		s := &Set{name: strings.TrimSuffix(filepath.Base(p), ".json"), path: p}
		if err := json.Unmarshal(b, s); err != nil {
			return nil, local, fmt.Errorf("%s: %w", p, err)
		}
		if len(s.Components) == 0 {
			return nil, local, fmt.Errorf("%s: no components", p)
		}
		if s.AwaitsCode != "" {
			_, err := os.Stat(filepath.Join(root, s.AwaitsCode))
			switch {
			case err == nil:
				s.codeExists = true
			case !errors.Is(err, fs.ErrNotExist):
				return nil, local, fmt.Errorf("%s: awaits_code: %w", p, err)
			}
		}
		sets = append(sets, s)
	}
	if len(sets) == 0 {
		return nil, local, fmt.Errorf("no action sets in %s", dir)
	}
	return sets, local, nil
}

func matches(prefix, component string) bool {
	return component == prefix || strings.HasPrefix(component, prefix+" ")
}

// classify returns the set a component belongs to, or nil and the reason
// when it is local, or nil and "" when nothing claims it. The longest
// matching name wins, so "hubctl transactions expect" can be local while
// "hubctl transactions" is the operator's.
func classify(component string, sets []*Set, local Local) (*Set, string) {
	var best *Set
	bestLen, localLen, reason := -1, -1, ""
	for _, s := range sets {
		for _, c := range s.Components {
			if matches(c, component) && len(c) > bestLen {
				best, bestLen = s, len(c)
			}
		}
	}
	for c, why := range local.Components {
		if matches(c, component) && len(c) > localLen {
			localLen, reason = len(c), why
		}
	}
	if localLen > bestLen {
		return nil, reason
	}
	return best, ""
}

// Report is the outcome of comparing a recording with the sets.
type Report struct {
	Unclassified []string            // components no set or local entry claims
	Unknown      []string            // records whose resource could not be classified
	Missing      map[string][]string // set -> recorded "action on kind (by component)" the set lacks
	Stale        map[string][]string // set -> recorded entries of the set nothing performed
	NotSeen      []string            // sets none of whose components ran
	Awaiting     []string            // sets that did not run because their code does not exist yet
	Records      int
}

// Failed reports whether anything is wrong. A set awaiting its code is not.
func (r Report) Failed() bool {
	return len(r.Unclassified)+len(r.Unknown)+len(r.Missing)+len(r.Stale)+len(r.NotSeen) > 0 || r.Records == 0
}

func (r Report) String() string {
	var b strings.Builder
	if r.Records == 0 {
		b.WriteString("no AWS operation was recorded: were the tests built with -tags iamrecord and run with " + iamrecord.EnvDir + " set?\n")
	}
	for _, c := range r.Unclassified {
		fmt.Fprintf(&b, "component %q belongs to no action set: add it to the components of one of terraform/iam/*.json, or to terraform/iam/local.json if it never runs on AWS\n", c)
	}
	for _, u := range r.Unknown {
		fmt.Fprintf(&b, "unclassified resource: %s (name it in the process's environment: QUEUE_URL, DLQ_URL, EVENTS_TABLE, ...)\n", u)
	}
	for _, name := range sortedKeys(r.Missing) {
		for _, m := range r.Missing[name] {
			fmt.Fprintf(&b, "NOT GRANTED: %s performed %s, which %s lacks: on AWS it fails with AccessDenied\n", strings.SplitN(m, "|", 2)[1], strings.SplitN(m, "|", 2)[0], setFile(name))
		}
	}
	for _, name := range sortedKeys(r.Stale) {
		for _, s := range r.Stale[name] {
			fmt.Fprintf(&b, "NEVER CALLED: terraform/iam/%s.json grants %s, which no %s component performed\n", name, s, name)
		}
	}
	for _, n := range r.NotSeen {
		fmt.Fprintf(&b, "no recording for the %s set: none of its components ran under the recorder\n", n)
	}
	for _, n := range r.Awaiting {
		fmt.Fprintf(&b, "not yet held: %s\n", n)
	}
	if len(r.Missing)+len(r.Stale) > 0 {
		b.WriteString("After a deliberate change of the code's AWS calls, regenerate the sets with `make iam-sets` and review the diff.\n")
	}
	return b.String()
}

func setFile(name string) string {
	if name == applicationSet {
		return "the application grants of terraform/iam/" + localFile
	}
	return "terraform/iam/" + name + ".json"
}

func sortedKeys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Check compares the records with the sets.
func Check(records []iamrecord.Record, sets []*Set, local Local) Report {
	rep := Report{Missing: map[string][]string{}, Stale: map[string][]string{}, Records: len(records)}
	seen := map[*Set]map[string]bool{}
	unclassified, unknown := map[string]bool{}, map[string]bool{}
	for _, r := range records {
		s, localReason := classify(r.Component, sets, local)
		if s == nil {
			if localReason == "" && !unclassified[r.Component] {
				unclassified[r.Component] = true
				rep.Unclassified = append(rep.Unclassified, r.Component)
			}
			if localReason != "" && local.Application.claims(r.Component) {
				checkApplication(&rep, r, local.Application, unknown)
			}
			continue
		}
		if rep.unknown(r, unknown) {
			continue
		}
		if seen[s] == nil {
			seen[s] = map[string]bool{}
		}
		k := Entry{Action: r.Action, Resource: r.Resource}.key()
		seen[s][k] = true
		if !s.grants(k) {
			m := k + "|" + r.Component
			if !slices.Contains(rep.Missing[s.name], m) {
				rep.Missing[s.name] = append(rep.Missing[s.name], m)
			}
		}
	}
	for _, s := range sets {
		if seen[s] == nil {
			if s.AwaitsCode != "" && !s.codeExists {
				rep.Awaiting = append(rep.Awaiting, fmt.Sprintf("the %s set awaits %s, which does not exist yet: its grants are written ahead of the code", s.name, s.AwaitsCode))
			} else {
				rep.NotSeen = append(rep.NotSeen, s.name)
			}
			continue
		}
		for _, e := range s.Recorded {
			if !seen[s][e.key()] {
				rep.Stale[s.name] = append(rep.Stale[s.name], e.key())
			}
		}
	}
	for _, m := range []map[string][]string{rep.Missing, rep.Stale} {
		for k := range m {
			sort.Strings(m[k])
		}
	}
	sort.Strings(rep.Unclassified)
	sort.Strings(rep.Unknown)
	return rep
}

// applicationSet names the application's grants in reports.
const applicationSet = "local.application"

// checkApplication holds a call of the application's commands to the grants
// of its role.
func checkApplication(rep *Report, r iamrecord.Record, app *Application, unknown map[string]bool) {
	if rep.unknown(r, unknown) {
		return
	}
	k := Entry{Action: r.Action, Resource: r.Resource}.key()
	if m := k + "|" + r.Component; !app.grants(k) && !slices.Contains(rep.Missing[applicationSet], m) {
		rep.Missing[applicationSet] = append(rep.Missing[applicationSet], m)
	}
}

// unknown reports whether r's resource could not be classified, and lists
// it once among the report's Unknown (seen holds those listed).
func (rep *Report) unknown(r iamrecord.Record, seen map[string]bool) bool {
	if !iamrecord.IsUnknown(r.Resource) {
		return false
	}
	if u := r.Component + ": " + r.Action + " on " + r.Resource; !seen[u] {
		seen[u] = true
		rep.Unknown = append(rep.Unknown, u)
	}
	return true
}

func (s *Set) grants(key string) bool {
	has := hasKey(key)
	return slices.ContainsFunc(s.Recorded, has) || slices.ContainsFunc(s.Handwritten, has)
}

// hasKey matches the entries whose key is key.
func hasKey(key string) func(Entry) bool { return func(e Entry) bool { return e.key() == key } }

// Rewrite replaces each set's recorded entries with what its components
// performed; hand-written entries stay, except those waiting to be recorded
// that now are. It refuses a recording the check cannot classify.
func Rewrite(records []iamrecord.Record, sets []*Set, local Local) error {
	rep := Check(records, sets, local)
	if rep.Records == 0 || len(rep.Unclassified)+len(rep.Unknown)+len(rep.NotSeen) > 0 {
		return fmt.Errorf("the recording cannot be written as sets:\n%s", rep)
	}
	recorded := map[*Set]map[string]Entry{}
	for _, r := range records {
		s, _ := classify(r.Component, sets, local)
		if s == nil {
			continue
		}
		if recorded[s] == nil {
			recorded[s] = map[string]Entry{}
		}
		e := Entry{Action: r.Action, Resource: r.Resource}
		recorded[s][e.key()] = e
	}
	for _, s := range sets {
		var hand []Entry
		for _, h := range s.Handwritten {
			if _, ok := recorded[s][h.key()]; ok && h.UntilRecorded {
				continue
			}
			hand = append(hand, h)
			delete(recorded[s], h.key())
		}
		s.Handwritten = hand
		if recorded[s] != nil {
			s.AwaitsCode = "" // recorded: its code exists and runs under the tests
		}
		// [] and never null: Terraform concatenates the lists.
		s.Recorded = make([]Entry, 0, len(recorded[s]))
		for _, e := range recorded[s] {
			s.Recorded = append(s.Recorded, e)
		}
		sortEntries(s.Recorded)
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(s.path, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func sortEntries(es []Entry) {
	sort.Slice(es, func(i, j int) bool {
		if es[i].Resource != es[j].Resource {
			return es[i].Resource < es[j].Resource
		}
		return es[i].Action < es[j].Action
	})
}
