// Package rules reads rules.yaml, which says which tickets notify whom, over
// SMS or WhatsApp, with what words, and decides whether a rule's conditions
// hold for a webhook body.
//
// Loading is all-or-nothing: Parse reports every problem it finds, each with
// the file, the line and the rule, and returns no rules at all when there is
// one. Every template is parsed and trial-rendered at load time.
package rules

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/phone"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/templates"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/zendesk"
)

// Version is the only rules.yaml version this bridge reads.
const Version = 1

// DefaultOnceFor is how long a fired (rule, key) stays fired when neither the
// rule nor defaults.once_for says.
const DefaultOnceFor = 720 * time.Hour

// Default templates, used when a rule leaves out `to` or `once`.
const (
	DefaultTo   = "{{ticket.requester.phone}}"
	DefaultOnce = "{{ticket.id}}"
)

// Set is a loaded rules file.
type Set struct {
	File     string
	Version  int
	Defaults Defaults
	Rules    []*Rule
	// Warnings are what loads but is likely a mistake, such as a status
	// Zendesk does not have: shown by rules check and logged at load.
	Warnings []Problem
}

// WarningLines are the warnings as FILE:LINE: rule NAME: warning: ...
func (s *Set) WarningLines() []string {
	out := make([]string, len(s.Warnings))
	for i, w := range s.Warnings {
		w.Msg = "warning: " + w.Msg
		out[i] = w.format(s.File)
	}
	return out
}

// Defaults holds the file's `defaults` section, normalised: Country is an
// upper-case ISO 3166 alpha-2 code ("UK" becomes "GB") or empty, OnceFor is
// never zero.
type Defaults struct {
	Country  string
	OnceFor  time.Duration
	SMS      ChannelDefaults
	WhatsApp ChannelDefaults // Source is always empty: WhatsApp has no sender id
}

// ChannelDefaults are the 8x8 settings a rule inherits for one channel.
type ChannelDefaults struct {
	Subaccount, Source string
}

// Rule is one entry of `rules`.
type Rule struct {
	Name string
	Line int // where the rule starts in the file
	When When

	To      *templates.Template // the recipient; DefaultTo unless the rule says
	Country *templates.Template // nil: Set.Defaults.Country
	Once    *templates.Template // the fire-once key; DefaultOnce unless the rule says; nil for `once: false`
	OnceFor time.Duration       // the rule's once_for, else defaults.once_for; 0 when Once is nil

	// Exactly one is non-nil.
	SMS      *SMS
	WhatsApp *WhatsApp
}

// When holds a rule's conditions; every one given must hold. Values are
// lower-cased and trimmed at load time; an empty When always holds.
type When struct {
	Status   []string            // ticket.status is one of these
	TagsAll  []string            // ticket.tags has all of these
	TagsAny  []string            // ticket.tags has at least one of these
	TagsNone []string            // ticket.tags has none of these
	Fields   map[string][]string // the value at each dotted path is one of these
}

// SMS is an SMS rule's message, with defaults applied.
type SMS struct {
	Text       *templates.Template
	Subaccount string
	Source     string // empty: 8x8 uses the subaccount's default sender
}

// WhatsApp is a WhatsApp rule's message, with defaults applied. Exactly one of
// Template and Text is non-nil.
type WhatsApp struct {
	Subaccount string
	Template   *WATemplate
	Text       *templates.Template
}

// WATemplate is a pre-approved WhatsApp template and its body parameters in
// order.
type WATemplate struct {
	Name, Language string
	Body           []*templates.Template
}

// Rule returns the rule with this name, ignoring case as the loader does
// when it keeps names unique: /webhooks/zendesk/Solved-SMS names solved-sms.
func (s *Set) Rule(name string) (*Rule, bool) {
	for _, r := range s.Rules {
		if strings.EqualFold(r.Name, name) {
			return r, true
		}
	}
	return nil, false
}

// Match says whether every condition of the rule holds for data, a decoded
// webhook body. When one does not, reason says why in a sentence, listing
// every condition that failed, separated by "; ". Comparisons ignore case and
// surrounding spaces; a field whose value is a list matches when one of its
// items does.
func (r *Rule) Match(data map[string]any) (ok bool, reason string) {
	var why []string
	w := r.When
	if len(w.Status) > 0 {
		if got, found := value(data, "ticket.status"); !found || !slices.Contains(w.Status, got) {
			why = append(why, fmt.Sprintf("status is %s, wanted one of %s", shown(got, found), strings.Join(w.Status, ", ")))
		}
	}
	if len(w.TagsAll) > 0 || len(w.TagsAny) > 0 || len(w.TagsNone) > 0 {
		tags, usable := zendesk.Tags(data)
		if !usable {
			return false, "ticket.tags is neither a space-separated string nor a list of tags, so no tag condition can be trusted"
		}
		if missing := filter(w.TagsAll, tags, false); len(missing) > 0 {
			why = append(why, fmt.Sprintf("missing %s %s", plural("tag", missing), strings.Join(missing, ", ")))
		}
		if len(w.TagsAny) > 0 && len(filter(w.TagsAny, tags, true)) == 0 {
			why = append(why, fmt.Sprintf("has none of the tags %s", strings.Join(w.TagsAny, ", ")))
		}
		if present := filter(w.TagsNone, tags, true); len(present) > 0 {
			why = append(why, fmt.Sprintf("has %s %s", plural("tag", present), strings.Join(present, ", ")))
		}
	}
	paths := make([]string, 0, len(w.Fields))
	for p := range w.Fields {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		want := w.Fields[p]
		v, found := zendesk.Lookup(data, p)
		if found && fieldMatches(v, want) {
			continue
		}
		got := ""
		if found {
			got = phone.Hide(display(v))
		}
		why = append(why, fmt.Sprintf("field %s is %s, wanted one of %s", p, shown(got, found), strings.Join(want, ", ")))
	}
	if len(why) > 0 {
		return false, strings.Join(why, "; ")
	}
	return true, ""
}

// value is the comparable text at path: trimmed and lower-cased.
func value(data map[string]any, path string) (string, bool) {
	v, ok := zendesk.Lookup(data, path)
	return norm(zendesk.Text(v)), ok
}

func norm(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func fieldMatches(v any, want []string) bool {
	if items, ok := v.([]any); ok {
		return slices.ContainsFunc(items, func(item any) bool { return oneOf(norm(zendesk.Text(item)), want) })
	}
	return oneOf(norm(zendesk.Text(v)), want)
}

// oneOf says whether got is one of want, where a number equals the same
// number written another way: a field sent as 12345.0 or "12345" matches
// `12345`, and 1.5 matches `1.50`.
func oneOf(got string, want []string) bool {
	if slices.Contains(want, got) {
		return true
	}
	n, ok := zendesk.Decimal(got)
	if !ok {
		return false
	}
	return slices.ContainsFunc(want, func(w string) bool {
		m, ok := zendesk.Decimal(w)
		return ok && m == n
	})
}

// display is a field value as a reason shows it: a list with its items
// separated, so that the reader sees what arrived.
func display(v any) string {
	if items, ok := v.([]any); ok {
		parts := make([]string, len(items))
		for i, item := range items {
			parts[i] = norm(zendesk.Text(item))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return norm(zendesk.Text(v))
}

// maxShown bounds a value quoted in a reason: reasons go into the answer
// once per rule and into the webhook's log line, so an unbounded value
// would multiply a body's size by the number of rules.
const maxShown = 64

func shown(got string, found bool) string {
	switch {
	case !found:
		return "missing"
	case got == "":
		return "empty"
	case utf8.RuneCountInString(got) > maxShown:
		return string([]rune(got)[:maxShown-1]) + "…"
	default:
		return got
	}
}

// filter returns the items of want that are (in=true) or are not (in=false)
// among have.
func filter(want, have []string, in bool) []string {
	var out []string
	for _, w := range want {
		if slices.Contains(have, w) == in {
			out = append(out, w)
		}
	}
	return out
}

func plural(word string, items []string) string {
	if len(items) == 1 {
		return word
	}
	return word + "s"
}

// Templates are every template of the rule, in the order they are written
// in rules.yaml's example: to, country, once, then the message.
func (r *Rule) Templates() []*templates.Template {
	var out []*templates.Template
	add := func(ts ...*templates.Template) {
		for _, t := range ts {
			if t != nil {
				out = append(out, t)
			}
		}
	}
	add(r.To, r.Country, r.Once)
	switch {
	case r.SMS != nil:
		add(r.SMS.Text)
	case r.WhatsApp != nil && r.WhatsApp.Template != nil:
		add(r.WhatsApp.Template.Body...)
	case r.WhatsApp != nil:
		add(r.WhatsApp.Text)
	}
	return out
}
