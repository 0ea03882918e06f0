package ffi

/*
#include "libsds.h"
*/
import "C"

import (
	"errors"
	"fmt"

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
func (st *settings) openStore() (*bolt.Store, error) {
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
// is closed.
func (m *manager) closeStore() {
	if m.store == nil {
		return
	}
	if err := m.store.Close(); err != nil {
		m.log.Error().Err(err).Msg("closing the store failed")
	}
	m.store = nil
}
