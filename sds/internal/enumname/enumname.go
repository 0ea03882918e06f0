// Package enumname names the values of the library's small enums (wire
// format, policies) and parses those names, from one table per enum.
package enumname

import (
	"fmt"
	"strings"
)

// String returns names[v], or "Type(v)" for a value without a name.
func String[T ~uint8](names []string, v T, typeName string) string {
	if int(v) < len(names) && names[v] != "" {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", typeName, uint8(v))
}

// Parse returns the value names gives name; what describes the enum in
// the error ("repair policy").
func Parse[T ~uint8](names []string, name, what string) (T, error) {
	for v, n := range names {
		if n != "" && n == name {
			return T(v), nil
		}
	}
	return 0, fmt.Errorf("unknown %s %q (want %s)", what, name, quoted(names))
}

func quoted(names []string) string {
	q := make([]string, 0, len(names))
	for _, n := range names {
		if n != "" {
			q = append(q, fmt.Sprintf("%q", n))
		}
	}
	return strings.Join(q, " or ")
}
