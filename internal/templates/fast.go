package templates

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unsafe"

	"github.com/osteele/liquid/parser"
	"github.com/osteele/liquid/render"
)

// The fast path.
//
// Most templates in rules.yaml are text and plain variables:
// "{{ticket.requester.phone}}", "{{ticket.id}}", "Update for ticket
// #{{ticket.id}} ({{ticket.status}})". osteele/liquid evaluates each of those
// through its expression closures and reflection, and copies the variables
// on every render; that was about a third of a webhook's work. A plan is the
// same template compiled to a list of steps that Render runs against the
// data map directly.
//
// A plan is built from the library's own parse tree, not from a second
// reading of the source, so the two cannot disagree about where an object
// starts or ends: a template takes the fast path when the tree is only text,
// whitespace control ({{- and -}}) and objects whose expression is a dotted
// variable path with nothing else in it. Comments leave nothing in the tree,
// so they do not stand in the way; every other tag does.
//
// The output must be byte for byte what the library writes, so the plan
// copies the library's rules rather than Liquid's documentation:
//
//   - A property of a map is its key, or the map's length for a missing
//     "size"; of an array, "first", "last" and "size"; of a string, "size"
//     (its length in bytes); of anything else, nothing.
//   - A string, a json.Number, a bool, an integer or a float64 prints as
//     fmt.Sprint would; nil prints nothing; an array prints its items one
//     after the other.
//   - Whitespace control follows the library's trimWriter, quirks included:
//     "{{- x }}" trims the end of the last write only (text or a value, even
//     an empty one; nil writes nothing), so it can trim the spaces a
//     variable's value ends with; "{{ x -}}" trims the start of the next
//     write, even an empty one, and that write joins the one before.
//
// Whatever else a lookup meets (a map as output, a struct, a []string, a
// json.Number's size, which panics in the library) sends that render to the
// library, which is never wrong by definition.

// errSlowPath is what a plan returns when this data needs the library.
var errSlowPath = errors.New("templates: render with the library")

type stepKind uint8

const (
	stepText      stepKind = iota // write text
	stepLookup                    // write the value at path
	stepTrimLeft                  // "{{-": trim the whitespace written before
	stepTrimRight                 // "-}}": trim the whitespace written next
)

type step struct {
	kind stepKind
	text string
	path []string
}

// plan is a template compiled for the fast path. It is not modified after
// compile, so it is safe for concurrent use.
type plan struct {
	steps []step
	size  int // a guess at the output size, to allocate once
}

// compile returns the plan for a parsed template, or nil when the template
// needs the library.
func compile(root render.Node) *plan {
	seq, ok := root.(*render.SeqNode)
	if !ok {
		return nil
	}
	p := &plan{steps: make([]step, 0, len(seq.Children))}
	for _, n := range seq.Children {
		switch n := n.(type) {
		case *render.TextNode:
			p.steps = append(p.steps, step{kind: stepText, text: n.Source})
			p.size += len(n.Source)
		case *render.ObjectNode:
			path := variablePath(n.Args)
			if path == nil {
				return nil
			}
			p.steps = append(p.steps, step{kind: stepLookup, path: path})
			p.size += 32 // most values are ids, statuses, names and links
		case *render.TrimNode:
			kind := stepTrimRight
			if n.TrimDirection == parser.Left {
				kind = stepTrimLeft
			}
			p.steps = append(p.steps, step{kind: kind})
		default:
			return nil
		}
	}
	return p
}

// variablePath splits an object's expression such as "ticket.requester.phone"
// into its names, or returns nil if it is anything else. A name is what the
// library's expression lexer reads as an identifier: an ASCII letter or "_",
// then letters, digits, "_" or "-", and an optional final "?". Spaces are
// already trimmed from both ends by the library's scanner; a space, bracket,
// quote, pipe or any other character inside makes it not a plain path.
func variablePath(expr string) []string {
	names := strings.Split(expr, ".")
	for _, name := range names {
		if !isIdentifier(name) {
			return nil
		}
	}
	// The lexer reads these words as literals or operators, not variables,
	// when they stand alone: {{ true }} prints "true", and {{ true.x }} asks
	// the literal for a property. As later names (".in", ".true") they are
	// ordinary properties.
	switch names[0] {
	case "true", "false", "nil", "and", "or", "contains", "in":
		return nil
	}
	return names
}

func isIdentifier(s string) bool {
	s = strings.TrimSuffix(s, "?")
	if s == "" || !(isLetter(s[0]) || s[0] == '_') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(isLetter(c) || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// render runs the plan. It returns errTooLong when the output would pass
// MaxOutput, as the library does, and errSlowPath when data holds a value
// that the plan does not know how to print exactly like the library.
func (p *plan) render(data map[string]any) (string, error) {
	// A template that is one variable holding a string ("{{ticket.id}}",
	// "{{ticket.requester.phone}}", the usual `to` and `once`) prints that
	// string as it is: no buffer, no copy.
	if len(p.steps) == 1 && p.steps[0].kind == stepLookup {
		if v, ok := lookup(data, p.steps[0].path); ok {
			if s, ok := v.(string); ok && len(s) <= MaxOutput {
				return s, nil
			}
		}
	}
	w := planWriter{out: make([]byte, 0, min(p.size, MaxOutput))}
	for _, s := range p.steps {
		switch s.kind {
		case stepText:
			w.write(s.text)
		case stepLookup:
			v, ok := lookup(data, s.path)
			if !ok {
				return "", errSlowPath
			}
			if !w.value(v, 0) {
				return "", errSlowPath
			}
		case stepTrimLeft:
			w.trimLeft()
		case stepTrimRight:
			w.trim = true
		}
		if w.pending > MaxOutput {
			return "", errTooLong // stop early: nothing takes handed-on bytes back
		}
	}
	if len(w.out) > MaxOutput {
		return "", errTooLong
	}
	// w.out is this call's own and is not written again: the string can
	// share its bytes rather than copy them.
	return unsafe.String(unsafe.SliceData(w.out), len(w.out)), nil
}

// lookup follows path from data as the library's expression evaluator does.
// ok is false when it meets a value whose properties the plan does not know.
func lookup(data map[string]any, path []string) (v any, ok bool) {
	// The first name is a variable: a plain map lookup, with no "size".
	v = data[path[0]]
	for _, name := range path[1:] {
		switch c := v.(type) {
		case map[string]any:
			item, found := c[name]
			switch {
			case found:
				v = item
			case name == "size":
				v = len(c)
			default:
				v = nil
			}
		case []any:
			switch {
			case name == "first" && len(c) > 0:
				v = c[0]
			case name == "last" && len(c) > 0:
				v = c[len(c)-1]
			case name == "size":
				v = len(c)
			default:
				v = nil
			}
		case string:
			if name == "size" {
				v = len(c)
			} else {
				v = nil
			}
		case json.Number:
			// The library's size of a string asserts .(string) on it,
			// which panics for a json.Number: leave that to it.
			if name == "size" {
				return nil, false
			}
			v = nil
		case nil, bool, int, int64, float64:
			v = nil
		default:
			return nil, false
		}
	}
	return v, true
}

// maxNesting bounds how deep value follows arrays inside arrays. A decoded
// body nests at most zendesk.MaxDepth levels; anything deeper goes to the
// library rather than risk the stack.
const maxNesting = 64

// planWriter mirrors osteele/liquid's trimWriter in front of a growing
// buffer. Bytes of out before pending have been handed on (in the library,
// to the limit writer) and are final; out[pending:] is the trimWriter's
// buffer, which a "{{-" may still trim.
//
// Only the handed-on bytes tell early that the output is too long. The
// pending ones do not, even up to their last non-space: a later write that
// joins them (after "-}}") can complete a multi-byte space such as U+2003
// from bytes on both sides, and a "{{-" then trims back past it. The pending
// buffer holds what the library's would, so it costs no more memory.
type planWriter struct {
	out     []byte
	pending int
	trim    bool // a "-}}" is waiting for the next write
}

// write is the trimWriter's Write: after a "-}}" it drops the leading
// whitespace of s (even if s is empty, which uses up the "-}}"); otherwise
// it hands on what was pending and s becomes the pending text.
func (w *planWriter) write(s string) {
	if w.trim {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		w.trim = false
	} else {
		w.pending = len(w.out)
	}
	w.out = append(w.out, s...)
}

// trimLeft is the trimWriter's TrimLeft: it drops the trailing whitespace of
// the pending text and hands the rest on.
func (w *planWriter) trimLeft() {
	w.out = w.out[:w.pending+len(bytes.TrimRightFunc(w.out[w.pending:], unicode.IsSpace))]
	w.pending = len(w.out)
}

// writeInt writes n in decimal, as fmt.Sprint does, without allocating: the
// string conversion of a small buffer that does not escape stays on the
// stack.
func (w *planWriter) writeInt(n int64) {
	var buf [20]byte
	w.write(string(strconv.AppendInt(buf[:0], n, 10)))
}

// value is the library's writeObject: it writes v as the library would, or
// returns false, having perhaps written part of it, for a value it does not
// know. depth counts the arrays it is inside.
func (w *planWriter) value(v any, depth int) bool {
	switch v := v.(type) {
	case nil:
		// Nothing is written, so a pending "-}}" stays for the next write.
	case string:
		w.write(v)
	case json.Number:
		w.write(string(v))
	case bool:
		w.write(strconv.FormatBool(v))
	case int:
		w.writeInt(int64(v))
	case int64:
		w.writeInt(v)
	case float64:
		w.write(fmt.Sprint(v))
	case []any:
		if depth >= maxNesting {
			return false
		}
		for _, item := range v {
			if !w.value(item, depth+1) {
				return false
			}
			if w.pending > MaxOutput {
				return true // render reports errTooLong
			}
		}
	default:
		return false
	}
	return true
}
