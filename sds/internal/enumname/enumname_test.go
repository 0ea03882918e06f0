package enumname

import "testing"

type color uint8

var colorNames = []string{0: "red", 2: "blue"}

func TestStringAndParse(t *testing.T) {
	for v, want := range map[color]string{0: "red", 1: "color(1)", 2: "blue", 7: "color(7)"} {
		if got := String(colorNames, v, "color"); got != want {
			t.Errorf("String(%d) = %q, want %q", v, got, want)
		}
	}
	for name, want := range map[string]color{"red": 0, "blue": 2} {
		if got, err := Parse[color](colorNames, name, "color"); err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", name, got, err, want)
		}
	}
	for _, bad := range []string{"", "green", "Red"} {
		_, err := Parse[color](colorNames, bad, "color")
		if err == nil || err.Error() != `unknown color "`+bad+`" (want "red" or "blue")` {
			t.Errorf("Parse(%q): %v", bad, err)
		}
	}
}
