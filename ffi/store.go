package ffi

/*
#include "libsds.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"io"

	"github.com/libsds-go/libsds/sds"
	"github.com/libsds-go/libsds/sds/persist/bolt"
)

// The stores a constructor may set up. The core opens none: the embedded
// one ("storePath") is opened here and closed when the manager is, the
// host's (SdsPersistence) is wrapped and left to the host.

// useHostPersistence makes the host's persistence functions st's backend.
// conflict is the complaint when storePath is set as well.
func (st *settings) useHostPersistence(p *C.SdsPersistence, conflict string) error {
	if st.storePath != "" {
		return errors.New(conflict)
	}
	b, err := newHostBackend(p, st.cfg.PersistLimits())
	if err != nil {
		return err
	}
	st.cfg.Persistence = b
	return nil
}

// openStore opens the embedded store at st.storePath, if set, as st's
// backend; the error is an sds.ErrPersistence, as the core reports a store
// that fails.
func (st *settings) openStore() (io.Closer, error) {
	if st.storePath == "" {
		return nil, nil
	}
	s, err := bolt.Open(st.storePath, &bolt.Options{Limits: st.cfg.PersistLimits()})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", sds.ErrPersistence, err)
	}
	st.cfg.Persistence = s
	return s, nil
}

// closeStore closes the embedded store of m, if it has one, once its core
// is closed. An error is an sds.ErrPersistence: what the store had not
// made durable may be lost, as when Close loses writes.
func (m *manager) closeStore() error {
	if m.store == nil {
		return nil
	}
	err := m.store.Close()
	m.store = nil
	if err != nil {
		return fmt.Errorf("%w: close store: %w", sds.ErrPersistence, err)
	}
	return nil
}
