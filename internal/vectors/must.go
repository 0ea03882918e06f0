package vectors

import "testing"

// Must returns what load reads, or fails the test that needs it:
// v := vectors.Must(t, vectors.LoadNim).
func Must[T any](t testing.TB, load func() (T, error)) T {
	t.Helper()
	v, err := load()
	if err != nil {
		t.Fatalf("vectors: %v", err)
	}
	return v
}
