package persist_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/libsds-go/libsds/sds/persist"
	"github.com/libsds-go/libsds/sds/persist/persisttest"
)

// unbatched hides a backend's Apply, to test the Writer's two-call path.
type unbatched struct{ persist.Backend }

func TestMemoryConformance(t *testing.T) {
	persisttest.RunBackendTests(t, func(*testing.T) persist.Backend { return persist.NewMemory() })
}

func TestModelIsAConformingBackend(t *testing.T) {
	// The suite's own reference, wrapped as a Backend, passes the suite:
	// the model and the checks agree.
	persisttest.RunBackendTests(t, func(*testing.T) persist.Backend { return &modelBackend{m: persisttest.NewModel()} })
}

type modelBackend struct {
	mu sync.Mutex
	m  *persisttest.Model
}

func (b *modelBackend) SaveChannelMeta(ch string, d *persist.MetaDelta) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m.SaveChannelMeta(ch, d)
	return nil
}

func (b *modelBackend) UpdateHistory(ch string, u *persist.HistoryUpdate) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m.UpdateHistory(ch, u)
	return nil
}

func (b *modelBackend) LoadChannel(ch string) (*persist.ChannelData, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m.Load(ch), nil
}

func (b *modelBackend) DropChannel(ch string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m.DropChannel(ch)
	return nil
}

func (b *modelBackend) SaveRetrievalHint(ch, id string, h []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m.SaveRetrievalHint(ch, id, h)
	return nil
}

func TestMemoryFaultInjection(t *testing.T) {
	m := persist.NewMemory()
	var d persist.MetaDelta
	d.PutLamport(1)

	m.FailNextWrites(2)
	if err := m.SaveChannelMeta("c", &d); !errors.Is(err, persist.ErrInjected) {
		t.Fatal(err)
	}
	if err := m.DropChannel("c"); !errors.Is(err, persist.ErrInjected) {
		t.Fatal(err)
	}
	if _, err := m.LoadChannel("c"); err != nil { // loads are not writes
		t.Fatal(err)
	}
	if err := m.SaveChannelMeta("c", &d); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.LoadChannel("c"); len(got.Records) != 1 {
		t.Fatalf("%+v", got)
	}

	m.SetFailing(persist.OpLoadChannel, true)
	if _, err := m.LoadChannel("c"); !errors.Is(err, persist.ErrInjected) {
		t.Fatal(err)
	}
	m.SetFailing(persist.OpLoadChannel, false)

	m.FailWriteFraction(0.5, 7)
	failed := 0
	for range 1000 {
		if m.SaveRetrievalHint("c", "x", []byte("h")) != nil {
			failed++
		}
	}
	if failed < 400 || failed > 600 || m.Failed(persist.OpSaveRetrievalHint) != failed || m.Calls(persist.OpSaveRetrievalHint) != 1000 {
		t.Fatalf("%d of 1000 failed (counted %d)", failed, m.Failed(persist.OpSaveRetrievalHint))
	}
	m.FailWriteFraction(0, 0)
	if got := m.Channels(); len(got) != 1 || got[0] != "c" {
		t.Fatalf("channels %q", got)
	}
}
