package rules

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/templates"
)

// Options are what Parse needs from the rest of the bridge.
type Options struct {
	// Engine parses the templates; nil means templates.New().
	Engine *templates.Engine
	// Country normalises a country code ("uk" → "GB") and says whether it
	// exists; the bridge passes phone.Country. nil accepts any two letters.
	Country func(string) (string, bool)
}

// Load reads and parses the rules file at path. A file that cannot be read is
// a plain error; a file with problems is a *LoadError.
func Load(path string, o Options) (*Set, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rules file: %w", err)
	}
	return Parse(path, src, o)
}

// Parse parses the rules in src; file names them in problems. On any problem
// it returns a *LoadError listing them all, and no Set.
func Parse(file string, src []byte, o Options) (set *Set, err error) {
	// A reload must never take the bridge down: a panic in the YAML library
	// or here is reported as a problem with the file.
	defer func() {
		if r := recover(); r != nil {
			set, err = nil, &LoadError{File: file, Problems: []Problem{{Msg: fmt.Sprintf("%s: %v", internalError, r)}}}
		}
	}()
	if o.Engine == nil {
		o.Engine = templates.New()
	}
	if o.Country == nil {
		o.Country = anyTwoLetters
	}
	l := &loader{o: o, anchors: map[string]ast.Node{}, merging: map[*ast.MappingNode]bool{}}
	set = l.file(WithoutBOM(src))
	set.File = file
	if err := l.problems.err(file); err != nil {
		return nil, err
	}
	set.Warnings = l.warnings.tidy()
	return set, nil
}

// WithoutBOM is src without the byte order mark Windows editors (Notepad)
// put at the start of a UTF-8 file: YAML allows one, the YAML library reads
// it as part of the first key.
func WithoutBOM(src []byte) []byte {
	return bytes.TrimPrefix(src, []byte("\ufeff"))
}

const internalError = "the rules could not be read (a bug in the bridge; please report it with the file)"

func anyTwoLetters(code string) (string, bool) {
	c := strings.ToUpper(strings.TrimSpace(code))
	if c == "UK" {
		c = "GB"
	}
	ok := len(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z'
	return c, ok
}

// The keys each mapping may have, in the order messages list them.
var (
	topKeys        = []string{"version", "defaults", "rules"}
	defaultsKeys   = []string{"country", "once_for", "sms", "whatsapp"}
	smsDefaultKeys = []string{"subaccount", "source"}
	waDefaultKeys  = []string{"subaccount"}
	ruleKeys       = []string{"name", "when", "to", "country", "once", "once_for", "sms", "whatsapp"}
	whenKeys       = []string{"status", "tags_all", "tags_any", "tags_none", "fields"}
	// zendeskStatuses are the statuses {{ticket.status}} renders in English.
	zendeskStatuses = []string{"new", "open", "pending", "hold", "solved", "closed"}
	smsKeys         = []string{"text", "subaccount", "source"}
	waKeys          = []string{"subaccount", "template", "text"}
	waTemplateKeys  = []string{"name", "language", "body"}
)

var (
	ruleName     = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	subaccountID = regexp.MustCompile(`^[A-Za-z0-9\-._&]{3,50}$`) // 8x8's subAccountId
	waName       = regexp.MustCompile(`^[A-Za-z0-9_]+$`)          // 8x8's example: ticket_update_en_US
	waLanguage   = regexp.MustCompile(`^[a-z]{2,3}(_[A-Za-z0-9]{2,4})?$`)
	fieldPath    = regexp.MustCompile(`^[^.\s]+(\.[^.\s]+)*$`)
	unquotedTpl  = regexp.MustCompile(`(^|[:\[,-])\s*\{\{`)
)

const (
	maxNameLen   = 64
	maxSourceLen = 16 // 8x8's SmsRequest.source
)

type loader struct {
	o        Options
	problems problems
	warnings problems // what loads but is likely a mistake
	anchors  map[string]ast.Node
	lines    []string                  // the source, for what the parser does not keep
	merging  map[*ast.MappingNode]bool // merge sources being read: a loop guard
	merges   int                       // merge sources read in all: a bound on alias fan-out
}

// maxMerges bounds how many merge sources (<<) a file may expand, so that
// aliases merging aliases cannot multiply the work.
const maxMerges = 1000

// field is one key of a mapping, its value resolved through anchors and
// aliases.
type field struct {
	key   string
	line  int // the key's line
	value ast.Node
}

func (l *loader) file(src []byte) *Set {
	set := &Set{}
	l.lines = strings.Split(string(src), "\n")
	f, err := parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		l.syntaxError(err)
		return set
	}
	if len(f.Docs) > 1 {
		ln := line(f.Docs[1])
		if ln == 0 {
			ln = line(f.Docs[1].Body)
		}
		l.problems.add(ln, "", "a rules file holds one YAML document; remove everything from the second ---")
	}
	var body ast.Node
	if len(f.Docs) > 0 {
		body = f.Docs[0].Body
	}
	l.collectAnchors(body, false)
	l.collectAnchors(body, true)
	body = l.resolve(body)
	if isNull(body) {
		l.problems.add(1, "", "the file is empty; it needs version: 1 and a list of rules")
		return set
	}
	top, ok := l.mapping(body, "", "the file")
	if !ok {
		return set
	}
	if kl, ok := testFileKey(top); ok {
		// Not a rules file with mistakes: the other kind of file.
		l.problems.add(kl, "", "this is a rules test file (it has rules_file or tests), not a rules file: run it with bridge rules test")
		return set
	}
	fields := l.byKey(top, "", topKeys)

	if v, ok := fields["version"]; !ok {
		l.problems.add(1, "", "missing version; start the file with version: 1")
	} else if n, isInt := v.value.(*ast.IntegerNode); !isInt {
		l.problems.add(v.line, "", "version must be written as the number 1: version: 1")
	} else if n.Token.Value != "1" {
		l.problems.add(v.line, "", "unknown version %s; this bridge reads version %d", n.Token.Value, Version)
	} else {
		set.Version = Version
	}

	set.Defaults = l.defaults(fields["defaults"])

	rf, ok := fields["rules"]
	switch {
	case !ok:
		l.problems.add(1, "", "missing rules; write rules: [] to run with no rules")
	case isNull(rf.value):
		l.problems.add(rf.line, "", "rules is empty; write rules: [] to run with no rules")
	default:
		seq, isSeq := rf.value.(*ast.SequenceNode)
		if !isSeq {
			l.problems.add(rf.line, "", "rules must be a list of rules, each starting with - name:")
			break
		}
		set.Rules = []*Rule{}
		seen := map[string]int{} // lower-cased name → line
		for i, item := range seq.Values {
			r := l.rule(i+1, l.resolve(item), set.Defaults)
			if r == nil {
				continue
			}
			if first, dup := seen[strings.ToLower(r.Name)]; dup {
				l.problems.add(r.Line, r.Name, "duplicate rule name (first at line %d); names must be unique, ignoring case", first)
				continue
			}
			seen[strings.ToLower(r.Name)] = r.Line
			set.Rules = append(set.Rules, r)
		}
	}
	return set
}

// syntaxError turns the YAML parser's error into a problem, with a hint for
// the commonest mistake: a template left unquoted reads as a YAML mapping.
func (l *loader) syntaxError(err error) {
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil || ye.GetToken().Position == nil {
		l.problems.add(0, "", "not valid YAML: %v", err)
		return
	}
	n := ye.GetToken().Position.Line
	src := ""
	if n >= 1 && n <= len(l.lines) {
		src = l.lines[n-1]
	}
	l.problems.add(n, "", "%s", SyntaxMessage(ye.GetMessage(), src))
}

// SyntaxMessage words the YAML parser's message for an editor, with what to
// do when the line shows a usual cause. src is the line it points at. Rule
// test files use it too.
func SyntaxMessage(msg, src string) string {
	if strings.Contains(msg, "found character '\t'") {
		return "not valid YAML: a tab character; YAML indents with spaces only, so replace the tab with spaces"
	}
	out := "not valid YAML: " + msg
	_, value, _ := strings.Cut(src, ": ")
	value = dropComment(strings.TrimSpace(value))
	switch {
	case unquotedTpl.MatchString(src):
		return out + `; a value that starts with {{ must be in quotes, like "{{ticket.id}}"`
	case strings.HasPrefix(value, `"`) && strings.Count(strings.ReplaceAll(value, `\"`, ""), `"`) > 2:
		return out + `; this value is in double quotes and holds double quotes too: put it in single quotes ('... "there" ...') or write the inner ones \"`
	case strings.HasPrefix(value, "'") && strings.Count(strings.ReplaceAll(value, "''", ""), "'") > 2:
		return out + `; this value is in single quotes and holds single quotes too: put it in double quotes ("... 'there' ...") or double the inner ones ('')`
	case strings.Contains(msg, "not allowed in this context") || strings.Contains(msg, "non-map value"):
		return out + "; check this line's indentation against the lines above: the keys of one mapping start in the same column"
	}
	return out
}

// dropComment cuts a trailing comment off a quoted value ("hi" # a "note"),
// so that quotes in the comment are not counted as the value's: a " #"
// right after a closing quote starts one.
func dropComment(value string) string {
	if value == "" || (value[0] != '"' && value[0] != '\'') {
		return value
	}
	for i := 1; i+1 < len(value); i++ {
		if value[i] == ' ' && value[i+1] == '#' {
			if before := strings.TrimRight(value[:i], " "); len(before) > 1 && before[len(before)-1] == value[0] {
				return before
			}
		}
	}
	return value
}

func (l *loader) defaults(f field) Defaults {
	d := Defaults{OnceFor: DefaultOnceFor}
	if f.value == nil || isNull(f.value) {
		return d
	}
	m, ok := l.mapping(f.value, "", "defaults")
	if !ok {
		return d
	}
	fields := l.byKey(m, "", defaultsKeys)
	if c, ok := fields["country"]; ok {
		if s, ok := l.text(c, "", "defaults.country"); ok {
			if isTemplate(s) {
				l.problems.add(c.line, "", "defaults.country must be a country code such as SG, not a template")
			} else if code, ok := l.o.Country(s); ok {
				d.Country = code
			} else {
				l.problems.add(c.line, "", "defaults.country: %s", unknownCountry(s))
			}
		}
	}
	if of, ok := fields["once_for"]; ok {
		if dur, ok := l.duration(of, "", "defaults.once_for"); ok {
			d.OnceFor = dur
		}
	}
	if sf, ok := fields["sms"]; ok {
		d.SMS = l.channelDefaults(sf, "defaults.sms", smsDefaultKeys)
	}
	if wf, ok := fields["whatsapp"]; ok {
		d.WhatsApp = l.channelDefaults(wf, "defaults.whatsapp", waDefaultKeys)
	}
	return d
}

func (l *loader) channelDefaults(f field, where string, keys []string) ChannelDefaults {
	var c ChannelDefaults
	if isNull(f.value) {
		return c
	}
	m, ok := l.mapping(f.value, "", where)
	if !ok {
		return c
	}
	fields := l.byKey(m, "", keys)
	if sf, ok := fields["subaccount"]; ok {
		c.Subaccount, _ = l.subaccount(sf, "", where+".subaccount")
	}
	if sf, ok := fields["source"]; ok {
		c.Source, _ = l.source(sf, "", where+".source")
	}
	return c
}

func (l *loader) rule(n int, node ast.Node, d Defaults) *Rule {
	label := "#" + strconv.Itoa(n)
	m, ok := l.mapping(node, label, "a rule")
	if !ok {
		return nil
	}
	r := &Rule{Line: line(m)}
	if len(m.Values) > 0 {
		r.Line = line(m.Values[0].Key)
	}
	before := len(l.problems)
	fields := l.byKey(m, label, ruleKeys)

	// The name comes first, so that every later problem can carry it.
	if nf, ok := fields["name"]; !ok {
		l.problems.add(r.Line, label, "missing name")
	} else if s, ok := l.text(nf, label, "name"); ok {
		switch {
		case !ruleName.MatchString(s):
			label = strconv.Quote(s)
			l.problems.add(nf.line, label, "name may contain only letters, digits, - and _")
		case len(s) > maxNameLen:
			label = s
			l.problems.add(nf.line, label, "name is longer than %d characters", maxNameLen)
		default:
			r.Name, label = s, s
		}
	}
	// Problems found while reading the keys belong to the named rule.
	for i := before; i < len(l.problems); i++ {
		if l.problems[i].Rule == "#"+strconv.Itoa(n) {
			l.problems[i].Rule = label
		}
	}

	if wf, ok := fields["when"]; ok {
		r.When = l.when(wf, label)
	}
	r.To = l.template(fields, "to", DefaultTo, label, "to")
	if cf, ok := fields["country"]; ok {
		r.Country = l.country(cf, label)
	}
	onceOff := false
	if of, ok := fields["once"]; ok {
		if b, isBool := of.value.(*ast.BoolNode); !isBool {
			r.Once = l.template(fields, "once", "", label, "once")
			if r.Once != nil {
				switch strings.ToLower(strings.TrimSpace(r.Once.Source())) {
				case "false", "no", "off":
					l.problems.add(of.line, label, `once %q is text, not the value false: write once: false, without quotes, to turn fire-once off`, r.Once.Source())
					r.Once = nil
				}
			}
			if r.Once != nil && !isTemplate(r.Once.Source()) {
				l.problems.add(of.line, label, `once %q is the same for every ticket, so the rule would fire only once; use a template such as "{{ticket.id}}", or false`, r.Once.Source())
			}
		} else if b.Value {
			l.problems.add(of.line, label, `once must be a template such as "{{ticket.id}}", or false`)
		} else {
			onceOff = true
		}
	} else {
		r.Once = l.template(fields, "once", DefaultOnce, label, "once")
	}
	if of, ok := fields["once_for"]; ok {
		if onceOff {
			l.problems.add(of.line, label, "once_for has no effect with once: false; remove one of them")
		} else if dur, ok := l.duration(of, label, "once_for"); ok && r.Once != nil {
			r.OnceFor = dur
		}
	} else if r.Once != nil {
		r.OnceFor = d.OnceFor
	}

	sf, hasSMS := fields["sms"]
	wf, hasWA := fields["whatsapp"]
	switch {
	case hasSMS && hasWA:
		l.problems.add(r.Line, label, "has both sms and whatsapp; a rule sends one message, so write two rules")
	case hasSMS:
		r.SMS = l.sms(sf, label, d.SMS)
	case hasWA:
		r.WhatsApp = l.whatsapp(wf, label, d.WhatsApp)
	default:
		l.problems.add(r.Line, label, "needs sms or whatsapp: what should it send?")
	}
	if r.Name == "" {
		return nil
	}
	return r
}

func (l *loader) when(f field, rule string) When {
	var w When
	if isNull(f.value) {
		return w
	}
	m, ok := l.mapping(f.value, rule, "when")
	if !ok {
		return w
	}
	fields := l.byKey(m, rule, whenKeys)
	if sf, ok := fields["status"]; ok {
		w.Status = l.values(sf, rule, "when.status", false)
		for _, s := range w.Status {
			if !slices.Contains(zendeskStatuses, s) {
				guess := ""
				if g, ok := Nearest(s, zendeskStatuses); ok {
					guess = fmt.Sprintf(" Did you mean %q?", g)
				}
				l.warnings.add(sf.line, rule, "when.status %q is not one of Zendesk's statuses (%s), so it matches only if the body sends that word.%s",
					s, strings.Join(zendeskStatuses, ", "), guess)
			}
		}
	}
	if tf, ok := fields["tags_all"]; ok {
		w.TagsAll = l.values(tf, rule, "when.tags_all", true)
	}
	if tf, ok := fields["tags_any"]; ok {
		w.TagsAny = l.values(tf, rule, "when.tags_any", true)
	}
	if tf, ok := fields["tags_none"]; ok {
		w.TagsNone = l.values(tf, rule, "when.tags_none", true)
		// A tag both required and excluded makes a rule that never fires,
		// which no check would otherwise reveal before go-live.
		for _, tag := range w.TagsNone {
			if slices.Contains(w.TagsAll, tag) {
				l.problems.add(tf.line, rule, "when: tag %s is in both tags_all and tags_none, so the rule can never match", tag)
			}
		}
		if len(w.TagsAny) > 0 && !slices.ContainsFunc(w.TagsAny, func(t string) bool { return !slices.Contains(w.TagsNone, t) }) {
			l.problems.add(tf.line, rule, "when: every tag of tags_any is also in tags_none, so the rule can never match")
		}
	}
	if ff, ok := fields["fields"]; ok && !isNull(ff.value) {
		fm, ok := l.mapping(ff.value, rule, "when.fields")
		if !ok {
			return w
		}
		w.Fields = map[string][]string{}
		for _, pf := range l.fields(fm, rule, nil) {
			if !fieldPath.MatchString(pf.key) {
				l.problems.add(pf.line, rule, "when.fields: %q is not a dotted path such as ticket.priority", pf.key)
				continue
			}
			w.Fields[pf.key] = l.values(pf, rule, "when.fields."+pf.key, false)
			if !strings.Contains(pf.key, ".") && pf.key != "ticket" {
				l.warnings.add(pf.line, rule, "when.fields %q is a key at the top of the body; the ticket's fields are under ticket (ticket.%s)", pf.key, pf.key)
			}
		}
	}
	return w
}

// values reads a list of values to compare with, or a single value standing
// for a list of one. They come back trimmed and lower-cased.
func (l *loader) values(f field, rule, where string, tags bool) []string {
	var items []ast.Node
	switch v := f.value.(type) {
	case *ast.SequenceNode:
		for _, item := range v.Values {
			items = append(items, l.resolve(item))
		}
		if len(items) == 0 {
			l.problems.add(f.line, rule, "%s is an empty list; remove it or list at least one value", where)
			return nil
		}
	default:
		items = []ast.Node{v}
	}
	out := make([]string, 0, len(items))
	for _, item := range items {
		ln := line(item)
		if ln == 0 {
			ln = f.line
		}
		s, ok := scalar(item)
		if !ok {
			l.problems.add(ln, rule, "%s must list plain values, like [a, b]", where)
			continue
		}
		s = norm(s)
		switch {
		case s == "":
			l.problems.add(ln, rule, "%s has an empty value", where)
		case tags && strings.ContainsAny(s, " \t\n"):
			l.problems.add(ln, rule, "%s: tag %q contains a space; list each tag on its own, like [%s]", where, s, strings.Join(strings.Fields(s), ", "))
		default:
			out = append(out, s)
		}
	}
	return out
}

func (l *loader) country(f field, rule string) *templates.Template {
	s, ok := l.text(f, rule, "country")
	if !ok {
		return nil
	}
	if isTemplate(s) {
		return l.parse(f, s, rule, "country")
	}
	code, ok := l.o.Country(s)
	if !ok {
		l.problems.add(f.line, rule, "country: %s", unknownCountry(s))
		return nil
	}
	return l.parse(f, code, rule, "country")
}

func unknownCountry(s string) string {
	return fmt.Sprintf("unknown country %q; use an ISO 3166 alpha-2 code such as SG or GB", s)
}

func (l *loader) sms(f field, rule string, d ChannelDefaults) *SMS {
	s := &SMS{Subaccount: d.Subaccount, Source: d.Source}
	m, ok := l.mappingOrEmpty(f, rule, "sms")
	if !ok {
		return nil
	}
	fields := l.byKey(m, rule, smsKeys)
	s.Subaccount = l.channelSubaccount(fields, f, rule, "sms", s.Subaccount)
	if sf, ok := fields["source"]; ok {
		if v, ok := l.source(sf, rule, "sms.source"); ok {
			s.Source = v
		}
	}
	if _, ok := fields["text"]; !ok {
		l.problems.add(f.line, rule, "sms needs a text")
	} else {
		s.Text = l.template(fields, "text", "", rule, "sms.text")
	}
	return s
}

// channelSubaccount is the channel's own subaccount over the default, and a
// problem when neither is set.
func (l *loader) channelSubaccount(fields map[string]field, f field, rule, channel, def string) string {
	sf, ok := fields["subaccount"]
	if !ok {
		if def == "" {
			l.problems.add(f.line, rule, "%s has no subaccount: set %s.subaccount or defaults.%s.subaccount", channel, channel, channel)
		}
		return def
	}
	if v, ok := l.subaccount(sf, rule, channel+".subaccount"); ok {
		return v
	}
	return def
}

func (l *loader) whatsapp(f field, rule string, d ChannelDefaults) *WhatsApp {
	w := &WhatsApp{Subaccount: d.Subaccount}
	m, ok := l.mappingOrEmpty(f, rule, "whatsapp")
	if !ok {
		return nil
	}
	fields := l.byKey(m, rule, waKeys)
	w.Subaccount = l.channelSubaccount(fields, f, rule, "whatsapp", w.Subaccount)
	tf, hasTemplate := fields["template"]
	_, hasText := fields["text"]
	switch {
	case hasTemplate && hasText:
		l.problems.add(f.line, rule, "whatsapp has both template and text; use one")
	case hasText:
		w.Text = l.template(fields, "text", "", rule, "whatsapp.text")
	case hasTemplate:
		w.Template = l.waTemplate(tf, rule)
	default:
		l.problems.add(f.line, rule, "whatsapp needs a template (pre-approved) or a text (freeform)")
	}
	return w
}

func (l *loader) waTemplate(f field, rule string) *WATemplate {
	m, ok := l.mappingOrEmpty(f, rule, "whatsapp.template")
	if !ok {
		return nil
	}
	t := &WATemplate{}
	fields := l.byKey(m, rule, waTemplateKeys)
	if nf, ok := fields["name"]; !ok {
		l.problems.add(f.line, rule, "whatsapp.template needs a name")
	} else if s, ok := l.text(nf, rule, "whatsapp.template.name"); ok {
		if waName.MatchString(s) && len(s) <= 512 {
			t.Name = s
		} else {
			l.problems.add(nf.line, rule, "whatsapp.template.name %q may contain only letters, digits and _, as in the template's name in WhatsApp Manager", s)
		}
	}
	if lf, ok := fields["language"]; !ok {
		l.problems.add(f.line, rule, "whatsapp.template needs a language, such as en or en_GB")
	} else if s, ok := l.text(lf, rule, "whatsapp.template.language"); ok {
		if waLanguage.MatchString(s) {
			t.Language = s
		} else if u := strings.Replace(s, "-", "_", 1); waLanguage.MatchString(u) {
			// A file that loaded with en-GB keeps loading; 8x8 gets en_GB.
			t.Language = u
			l.warnings.add(lf.line, rule, "whatsapp.template.language %q is sent as %s, as WhatsApp writes it; write it so", s, u)
		} else {
			l.problems.add(lf.line, rule, "whatsapp.template.language %q is not a language code such as en or en_GB", s)
		}
	}
	if bf, ok := fields["body"]; ok && !isNull(bf.value) {
		items := []ast.Node{bf.value}
		if seq, ok := bf.value.(*ast.SequenceNode); ok {
			items = seq.Values
		}
		t.Body = []*templates.Template{}
		for i, item := range items {
			where := fmt.Sprintf("whatsapp.template.body[%d]", i+1)
			pf := field{key: where, line: line(item), value: l.resolve(item)}
			if pf.line == 0 {
				pf.line = bf.line
			}
			if s, ok := l.text(pf, rule, where); ok {
				t.Body = append(t.Body, l.parse(pf, s, rule, where))
			}
		}
	}
	return t
}

// template parses the template under key, or def when the key is absent
// (def "" means the key is required and checked by the caller). where names
// the key in problems.
func (l *loader) template(fields map[string]field, key, def, rule, where string) *templates.Template {
	f, ok := fields[key]
	if !ok {
		if def == "" {
			return nil
		}
		t, err := l.o.Engine.Parse(def)
		if err != nil { // cannot happen with the defaults above
			panic(err)
		}
		return t
	}
	s, ok := l.text(f, rule, where)
	if !ok {
		return nil
	}
	return l.parse(f, s, rule, where)
}

func (l *loader) parse(f field, src, rule, where string) *templates.Template {
	if strings.TrimSpace(src) == "" {
		l.problems.add(f.line, rule, "%s is empty", where)
		return nil
	}
	// Message texts only: there a cut is a wrong message, while
	// "country: SG #sg" or "once_for: 720h #30d" is only a comment
	// written without a space.
	if message := strings.HasSuffix(where, ".text") || strings.HasPrefix(where, "whatsapp.template.body"); message {
		if whole, cut := cutAtComment(l.lines, f.value, src); cut {
			l.problems.add(f.line, rule, "%s is cut short at \" #\": YAML reads an unquoted \" #\" and everything after it as a comment, "+
				"so %s would be %q; put the whole value in quotes: %q", where, where, src, whole)
			return nil
		}
	}
	t, err := l.o.Engine.Parse(src)
	if err == nil {
		err = t.Check()
	}
	if err != nil {
		l.problems.add(f.line, rule, "%s: %v", where, err)
		return nil
	}
	if m := listFilterOnTags.FindString(src); m != "" {
		l.warnings.add(f.line, rule, "%s: %q needs ticket.tags as a JSON array, but the shipped body sends Zendesk's space-separated text, "+
			"on which it fails (422); write {{ ticket.tags | split: \" \" | ... }}, which reads both", where, m)
	}
	if m := loopOverTags.FindString(src); m != "" {
		l.warnings.add(f.line, rule, "%s: %q loops over nothing when ticket.tags arrives as the shipped body's space-separated text; "+
			"split it first, which reads an array too: {%% assign tags = ticket.tags | split: \" \" %%}{%% for tag in tags %%}", where, m)
	}
	return t
}

// loopOverTags finds a for loop over ticket.tags as it arrives.
var loopOverTags = regexp.MustCompile(`\{%-?\s*for\s+\w+\s+in\s+ticket\.tags\b[^|%]*-?%\}`)

// listFilterOnTags finds a list filter applied to ticket.tags as it arrives.
var listFilterOnTags = regexp.MustCompile(`ticket\.tags\s*\|\s*(join|first|last|sort|sort_natural|reverse|uniq|map|compact|where|concat)\b`)

func (l *loader) duration(f field, rule, where string) (time.Duration, bool) {
	if _, isInt := f.value.(*ast.IntegerNode); isInt {
		l.problems.add(f.line, rule, "%s needs a unit, like 720h or 30d", where)
		return 0, false
	}
	s, ok := l.text(f, rule, where)
	if !ok {
		return 0, false
	}
	d, err := ParseDuration(s)
	if err != nil {
		l.problems.add(f.line, rule, "%s: %v", where, err)
		return 0, false
	}
	return d, true
}

func (l *loader) subaccount(f field, rule, where string) (string, bool) {
	s, ok := l.text(f, rule, where)
	if !ok {
		return "", false
	}
	if !subaccountID.MatchString(s) {
		l.problems.add(f.line, rule, "%s %q is not an 8x8 subaccount id (3 to 50 letters, digits, -, ., _ or &)", where, s)
		return s, false // kept, so that rules do not also report a missing one
	}
	return s, true
}

func (l *loader) source(f field, rule, where string) (string, bool) {
	s, ok := l.text(f, rule, where)
	if !ok {
		return "", false
	}
	if isTemplate(s) {
		l.problems.add(f.line, rule, "%s is sent as written, not rendered: give the sender name or number itself, not a template", where)
		return s, false
	}
	if len([]rune(s)) > maxSourceLen {
		l.problems.add(f.line, rule, "%s %q is longer than 8x8's %d characters", where, s, maxSourceLen)
		return s, false
	}
	return s, true
}

// text reads a scalar as text, as it is written; an empty value is a problem.
func (l *loader) text(f field, rule, where string) (string, bool) {
	s, ok := scalar(f.value)
	switch {
	case !ok:
		l.problems.add(f.line, rule, "%s must be text, not a %s", where, kind(f.value))
		return "", false
	case strings.TrimSpace(s) == "":
		l.problems.add(f.line, rule, "%s is empty", where)
		return "", false
	}
	return s, true
}

// cutAtComment reports whether n, an unquoted scalar, was cut short by
// YAML at a " #" that reads as the rest of the text rather than as a
// comment: "Ticket #{{ticket.id}} is solved" or "Order #1234", on the
// value's line or on a line it wraps onto. Unquoted, such a text ends at the
// " #" and the bridge would send the stub. A comment written "# like this"
// (a space after #) is taken as one. It reads the source lines, not the
// parser's comments, which are not kept for wrapped lines; whole is the
// value as written, folded as YAML folds a plain scalar, for the refusal's
// suggestion.
func cutAtComment(lines []string, n ast.Node, value string) (whole string, cut bool) {
	switch n.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode:
	default:
		return "", false
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil || tk.Type == token.SingleQuoteType || tk.Type == token.DoubleQuoteType {
		return "", false
	}
	ln, col := tk.Position.Line, tk.Position.Column
	if ln < 1 || ln > len(lines) || col < 1 || col > len(lines[ln-1])+1 {
		return "", false
	}
	indent := func(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }
	parts := []string{strings.TrimRight(lines[ln-1][col-1:], " \t\r")}
	// A plain scalar wraps onto lines indented deeper than its key's line.
	for i, keyIndent := ln, indent(lines[ln-1]); i < len(lines); i++ {
		next := strings.TrimRight(lines[i], " \t\r")
		if strings.TrimSpace(next) == "" || indent(next) <= keyIndent {
			break
		}
		parts = append(parts, strings.TrimSpace(next))
	}
	for i, p := range parts {
		at := strings.Index(p, " #")
		if i > 0 && strings.HasPrefix(p, "#") {
			at = -1 // a wrapped line that starts with # is a comment line
		}
		// The parsed value must end where the " #" starts: in a flow
		// mapping ({text: hi, source: X} #note) the # is after other keys.
		if at >= 0 && at+2 < len(p) && p[at+2] != ' ' && p[at+2] != '\t' && strings.HasSuffix(value, strings.TrimSpace(p[:at])) {
			return strings.Join(parts, " "), true
		}
	}
	return "", false
}

// scalar returns a scalar's text as written in the file ("0123" stays
// "0123"); null is empty.
func scalar(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return v.GetToken().Value, true
	case *ast.NullNode, nil:
		return "", true
	}
	return "", false
}

func kind(n ast.Node) string {
	switch n.(type) {
	case nil:
		return "missing value"
	case *ast.MappingNode:
		return "mapping"
	case *ast.SequenceNode:
		return "list"
	}
	return n.Type().String()
}

func isTemplate(s string) bool {
	return strings.Contains(s, "{{") || strings.Contains(s, "{%")
}

func isNull(n ast.Node) bool {
	_, null := n.(*ast.NullNode)
	return n == nil || null
}

func line(n ast.Node) (ln int) {
	if n == nil {
		return 0
	}
	// goccy/go-yaml's GetToken dereferences fields that can be nil (a
	// document without a --- has no Start token).
	defer func() {
		if recover() != nil {
			ln = 0
		}
	}()
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

func (l *loader) mapping(n ast.Node, rule, what string) (*ast.MappingNode, bool) {
	if m, ok := n.(*ast.MappingNode); ok {
		return m, true
	}
	l.problems.add(line(n), rule, "%s must be a mapping of keys and values, not a %s", what, kind(n))
	return nil, false
}

// mappingOrEmpty reads a mapping that may be written empty (`sms:`), so that
// what it lacks is reported key by key.
func (l *loader) mappingOrEmpty(f field, rule, what string) (*ast.MappingNode, bool) {
	if isNull(f.value) {
		return &ast.MappingNode{}, true
	}
	if m, ok := f.value.(*ast.MappingNode); ok {
		return m, true
	}
	l.problems.add(f.line, rule, "%s must be a mapping of keys and values, not a %s", what, kind(f.value))
	return nil, false
}

// testFileKey finds a top-level key of a rules test file (rules_file,
// tests) where no rules file key is: its line, and whether there is one.
func testFileKey(top *ast.MappingNode) (int, bool) {
	kl, found := 0, false
	for _, mv := range top.Values {
		key, _ := scalar(mv.Key)
		switch key {
		case "version", "defaults", "rules":
			return 0, false
		case "rules_file", "tests":
			if !found {
				kl, found = line(mv.Key), true
			}
		}
	}
	return kl, found
}

// misplacedKey is unknownKey, but names the mapping a key belongs to when it
// is one level too far left: a rule's key at the top of the file, or a
// condition beside when.
func misplacedKey(key string, valid []string) string {
	switch {
	case slices.Equal(valid, topKeys) && slices.Contains(ruleKeys, key):
		return fmt.Sprintf("unknown key %q at the top of the file; it is a rule's key: indent it like the name of the rule it belongs to", key)
	case slices.Equal(valid, ruleKeys) && slices.Contains(whenKeys, key):
		return fmt.Sprintf("unknown key %q beside when; it is a condition: indent it under when:", key)
	}
	return unknownKey(key, valid)
}

// byKey is fields as a map.
func (l *loader) byKey(m *ast.MappingNode, rule string, valid []string) map[string]field {
	out := map[string]field{}
	for _, f := range l.fields(m, rule, valid) {
		out[f.key] = f
	}
	return out
}

// fields lists a mapping's keys with their resolved values, merge keys (<<)
// expanded, and reports duplicate keys and, when valid is not nil, keys
// outside it.
func (l *loader) fields(m *ast.MappingNode, rule string, valid []string) []field {
	var out []field
	seen := map[string]int{}
	var merged []*ast.MappingNode
	for _, mv := range m.Values {
		if _, isMerge := mv.Key.(*ast.MergeKeyNode); isMerge {
			merged = append(merged, l.mergeSources(mv, rule)...)
			continue
		}
		kl := line(mv.Key)
		key, ok := scalar(l.resolve(mv.Key))
		if !ok {
			l.problems.add(kl, rule, "a key must be a plain word, not a %s", kind(l.resolve(mv.Key)))
			continue
		}
		if first, dup := seen[key]; dup {
			l.problems.add(kl, rule, "duplicate key %q (first at line %d)", key, first)
			continue
		}
		seen[key] = kl
		if valid != nil && !slices.Contains(valid, key) {
			l.problems.add(kl, rule, "%s", misplacedKey(key, valid))
			continue
		}
		out = append(out, field{key: key, line: kl, value: l.resolve(mv.Value)})
	}
	// Keys written in the mapping win over merged ones; earlier merge
	// sources win over later ones.
	for _, src := range merged {
		if l.merging[src] {
			l.problems.add(line(m), rule, "<< merges a mapping into itself")
			continue
		}
		if l.merges++; l.merges > maxMerges {
			if l.merges == maxMerges+1 {
				l.problems.add(line(m), rule, "too many merges (<<); the file may merge at most %d mappings", maxMerges)
			}
			continue
		}
		l.merging[src] = true
		srcFields := l.fields(src, rule, valid)
		delete(l.merging, src)
		for _, f := range srcFields {
			if _, dup := seen[f.key]; !dup {
				seen[f.key] = f.line
				out = append(out, f)
			}
		}
	}
	return out
}

func (l *loader) mergeSources(mv *ast.MappingValueNode, rule string) []*ast.MappingNode {
	v := l.resolve(mv.Value)
	items := []ast.Node{v}
	if seq, ok := v.(*ast.SequenceNode); ok {
		items = seq.Values
	}
	var out []*ast.MappingNode
	for _, item := range items {
		if m, ok := l.resolve(item).(*ast.MappingNode); ok {
			out = append(out, m)
		} else {
			l.problems.add(line(mv.Key), rule, "<< must merge a mapping, such as *defaults")
		}
	}
	return out
}

// collectAnchors records every anchor in the document, so that aliases can
// be resolved wherever they are read; with check set, it reports aliases to
// no anchor instead.
func (l *loader) collectAnchors(n ast.Node, check bool) {
	switch v := n.(type) {
	case *ast.AnchorNode:
		if name, ok := scalar(v.Name); ok && !check {
			l.anchors[name] = v.Value
		}
		l.collectAnchors(v.Value, check)
	case *ast.AliasNode:
		if name, _ := scalar(v.Value); check && l.anchors[name] == nil {
			l.problems.add(line(v), "", "unknown alias *%s; define it first with &%s", name, name)
		}
	case *ast.MappingNode:
		for _, mv := range v.Values {
			l.collectAnchors(mv.Key, check)
			l.collectAnchors(mv.Value, check)
		}
	case *ast.MappingKeyNode:
		l.collectAnchors(v.Value, check)
	case *ast.SequenceNode:
		for _, item := range v.Values {
			l.collectAnchors(item, check)
		}
	case *ast.TagNode:
		l.collectAnchors(v.Value, check)
	}
}

// resolve looks through anchors, aliases, tags and explicit keys (?) to the
// node that holds the value.
func (l *loader) resolve(n ast.Node) ast.Node {
	for range 64 { // an alias chain longer than this is a loop
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			name, _ := scalar(v.Value)
			target, ok := l.anchors[name]
			if !ok {
				return nil
			}
			n = target
		case *ast.TagNode:
			n = v.Value
		case *ast.MappingKeyNode:
			n = v.Value
		default:
			return n
		}
	}
	return nil
}
