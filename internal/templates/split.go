package templates

import (
	"fmt"
	"strings"
)

// split is Liquid's, and also takes a list: each item is split and the
// pieces make one list. So "ticket.tags | split: ' '" reads Zendesk's
// space-separated tags and a JSON array of tags alike, where the library's
// would print an array as Go does ("[vip gold]") and split that.
// A " " separator splits at runs of white space and drops empty ends, as
// Ruby does.
func split(v any, sep string) []string {
	switch x := v.(type) {
	case []any:
		var out []string
		for _, item := range x {
			out = append(out, splitText(text(item), sep)...)
		}
		return out
	case []string:
		var out []string
		for _, item := range x {
			out = append(out, splitText(item, sep)...)
		}
		return out
	}
	return splitText(text(v), sep)
}

func splitText(s, sep string) []string {
	if sep == " " {
		return strings.Fields(s)
	}
	out := strings.Split(s, sep)
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// text is v as a template prints a single value.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	return fmt.Sprint(v)
}
