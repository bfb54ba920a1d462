package ruletest

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/width"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/notify"
	"github.com/bridgeworks/zendesk-8x8-bridge/internal/sender"
)

// mismatch is one field of an expectation that does not hold, with the
// lines that show want against got.
type mismatch struct {
	field string
	lines []string
}

// check compares one rule's decision with what the test expects. Once the
// rule's fate differs (matched or not, refused or not) nothing else is
// compared: the other fields would only repeat the same news.
func check(e expectation, d notify.Decision) []mismatch {
	if want := e.matched(); d.Matched != want {
		w := "true"
		if !want {
			w = "false"
		} else if e.Error != nil {
			w = "true, refused with " + *e.Error
		}
		return []mismatch{plain("matched", w, describe(d))}
	}
	if !d.Matched {
		return reason(e, d.Why)
	}
	if e.Error != nil {
		switch {
		case d.Refusal == nil:
			return []mismatch{plain("error", *e.Error, "none: "+message(d.Message))}
		case d.Refusal.Code != *e.Error:
			return []mismatch{plain("error", *e.Error, d.Refusal.Code+": "+d.Refusal.Reason)}
		}
		return reason(e, d.Refusal.Reason)
	}
	if d.Refusal != nil {
		return []mismatch{plain("error", "none", d.Refusal.Code+": "+d.Refusal.Reason)}
	}

	var out []mismatch
	m := d.Message
	if e.To != nil && *e.To != m.To {
		out = append(out, diffText("to", *e.To, m.To))
	}
	if e.Text != nil {
		if m.Template != nil {
			out = append(out, quotedWant("text", *e.Text, "none: "+message(m)))
		} else if *e.Text != m.Text {
			out = append(out, diffText("text", *e.Text, m.Text))
		}
	}
	if t := e.Template; t != nil {
		if m.Template == nil {
			out = append(out, plain("template", showTemplate(t), "none: "+message(m)))
		} else {
			out = append(out, templateMismatches(t, m.Template)...)
		}
	}
	if e.OnceKey != nil {
		switch {
		case !d.Once:
			out = append(out, quotedWant("once_key", *e.OnceKey, "none: the rule has once: false and the test no invocation_id"))
		case *e.OnceKey != d.Key.String():
			out = append(out, diffText("once_key", *e.OnceKey, d.Key.String()))
		}
	}
	return out
}

func reason(e expectation, got string) []mismatch {
	if e.ReasonContains == nil || strings.Contains(strings.ToLower(got), strings.ToLower(*e.ReasonContains)) {
		return nil
	}
	return []mismatch{{field: "reason", lines: []string{
		"want: contains " + strconv.Quote(*e.ReasonContains),
		"got:  " + strconv.Quote(got),
	}}}
}

func templateMismatches(want *templateYAML, got *sender.Template) []mismatch {
	var out []mismatch
	if want.Name != nil && *want.Name != got.Name {
		out = append(out, diffText("template.name", *want.Name, got.Name))
	}
	if want.Language != nil && *want.Language != got.Language {
		out = append(out, diffText("template.language", *want.Language, got.Language))
	}
	if want.Body == nil {
		return out
	}
	if len(*want.Body) != len(got.Body) {
		return append(out, plain("template.body", list(*want.Body), list(got.Body)))
	}
	for i, w := range *want.Body {
		if w != got.Body[i] {
			out = append(out, diffText(fmt.Sprintf("template.body parameter %d", i+1), w, got.Body[i]))
		}
	}
	return out
}

// describe says in a line what the rule did with the ticket.
func describe(d notify.Decision) string {
	switch {
	case !d.Matched:
		return "false: " + d.Why
	case d.Refusal != nil:
		return "true, refused with " + d.Refusal.Code + ": " + d.Refusal.Reason
	default:
		return "true: " + message(d.Message)
	}
}

// message says what would be sent, to whom.
func message(m sender.Message) string {
	switch {
	case m.Template != nil:
		return fmt.Sprintf("it sends WhatsApp template %s to %s", showTemplate(&templateYAML{
			Name: &m.Template.Name, Language: &m.Template.Language, Body: &m.Template.Body,
		}), m.To)
	case m.Channel == sender.WhatsApp:
		return fmt.Sprintf("it sends WhatsApp text %q to %s", m.Text, m.To)
	default:
		return fmt.Sprintf("it sends SMS %q to %s", m.Text, m.To)
	}
}

func showTemplate(t *templateYAML) string {
	var parts []string
	if t.Name != nil {
		parts = append(parts, *t.Name)
	}
	if t.Language != nil {
		parts = append(parts, "("+*t.Language+")")
	}
	if t.Body != nil {
		parts = append(parts, list(*t.Body))
	}
	return strings.Join(parts, " ")
}

func list(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func plain(field, want, got string) mismatch {
	return mismatch{field: field, lines: []string{"want: " + want, "got:  " + got}}
}

func quotedWant(field, want, got string) mismatch {
	return plain(field, strconv.Quote(want), got)
}

// diffText shows two strings quoted, on their own lines, with a caret under
// the first character where they part.
func diffText(field, want, got string) mismatch {
	qw, qg := strconv.Quote(want), strconv.Quote(got)
	return mismatch{field: field, lines: []string{
		"want: " + qw,
		"got:  " + qg,
		strings.Repeat(" ", len("got:  ")+column(qw, qg)) + "^",
	}}
}

// column is the display column of the first rune where a and b differ:
// a wide character (CJK, most emoji) takes two columns in a terminal.
func column(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	col := 0
	for i := 0; i < len(ra) && i < len(rb) && ra[i] == rb[i]; i++ {
		switch width.LookupRune(ra[i]).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			col += 2
		default:
			col++
		}
	}
	return col
}
