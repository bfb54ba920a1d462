package ruletest

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"

	"github.com/bridgeworks/zendesk-8x8-bridge/internal/rules"
)

var (
	goTypeError = regexp.MustCompile(`^cannot unmarshal (.+) into Go struct field \S+ of type (\S+)$`)
	shapeError  = regexp.MustCompile(`^(\S+) was used where (\S+) is expected$`)
	unknownKey  = regexp.MustCompile(`^unknown field "([^"]*)"$`)
	duplicate   = regexp.MustCompile(`^mapping key "([^"]*)" already defined at \[(\d+):\d+\]$`)
)

// yamlError words a parse or decode error as FILE:LINE: message, in the
// file's own terms rather than Go's. top, when known, names the key whose
// value is wrong; src is the file, whose line a syntax error is explained by.
func yamlError(file string, src []byte, top ast.Node, err error) error {
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil || ye.GetToken().Position == nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	pos := ye.GetToken().Position
	msg := ye.GetMessage()
	key := keyOf(top, pos)
	if key == "" {
		key = "the value"
	}
	if m := goTypeError.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("%s must be %s, not %s", key, kind(m[2]), kind(m[1]))
	} else if m := shapeError.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("%s must be %s, not %s", key, kind(m[2]), kind(m[1]))
	} else if m := unknownKey.FindStringSubmatch(msg); m != nil {
		if s, ok := rules.Nearest(m[1], allKeys()); ok {
			msg = fmt.Sprintf("unknown key %q, did you mean %q?", m[1], s)
		} else {
			msg = fmt.Sprintf("unknown key %q; see examples/rules_test.yaml for the keys a test file takes", m[1])
		}
	} else if m := duplicate.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("%q is given twice (first at line %s)", m[1], m[2])
	} else if top == nil {
		line := ""
		if lines := strings.Split(string(src), "\n"); pos.Line >= 1 && pos.Line <= len(lines) {
			line = lines[pos.Line-1]
		}
		msg = rules.SyntaxMessage(msg, line)
	}
	return fmt.Errorf("%s:%d: %s", file, pos.Line, msg)
}

// keyOf finds the key whose value starts at pos.
func keyOf(n ast.Node, pos *token.Position) string {
	found := ""
	ast.Walk(visitor(func(n ast.Node) bool {
		kv, ok := n.(*ast.MappingValueNode)
		if !ok || found != "" {
			return found == ""
		}
		if tok := unwrap(kv.Value).GetToken(); tok != nil && tok.Position != nil &&
			tok.Position.Line == pos.Line && tok.Position.Column == pos.Column {
			found = kv.Key.GetToken().Value
			return false
		}
		return true
	}), n)
	return found
}

type visitor func(ast.Node) bool

func (v visitor) Visit(n ast.Node) ast.Visitor {
	if n == nil || !v(n) {
		return nil
	}
	return v
}

func kind(t string) string {
	switch strings.TrimLeft(t, "*") {
	case "bool":
		return "true or false"
	case "string":
		return "text"
	case "sequence":
		return "a list"
	case "mapping":
		return "a mapping"
	case "null":
		return "empty"
	case "uint64", "int64", "int", "float64", "float":
		return "a number"
	}
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "ruletest."):
		return "a mapping"
	}
	return t
}

// yamlKeys maps the Go field names of the file's types to their keys.
func yamlKeys() map[string]string {
	m := map[string]string{}
	for _, t := range []reflect.Type{reflect.TypeFor[fileYAML](), reflect.TypeFor[testYAML](), reflect.TypeFor[expectYAML](), reflect.TypeFor[templateYAML]()} {
		for i := range t.NumField() {
			m[t.Field(i).Name] = t.Field(i).Tag.Get("yaml")
		}
	}
	return m
}

func allKeys() []string {
	var out []string
	for _, k := range yamlKeys() {
		out = append(out, k)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
