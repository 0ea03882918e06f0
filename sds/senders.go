package sds

// senderTable keeps each sender id of a log's entries once: an entry holds
// a 4-byte reference, counted, and a name no entry references any more is
// forgotten, so a peer inventing sender ids cannot grow it beyond the log.
// Reference 0 is the empty sender id and is not counted.
type senderTable struct {
	intern func([]byte) string // Config.InternID
	names  []string
	refs   []uint32
	byName map[string]uint32
	free   []uint32
}

// ref returns a counted reference to name.
func (t *senderTable) ref(name string) uint32 {
	if name == "" {
		return 0
	}
	if i, ok := t.byName[name]; ok {
		t.refs[i]++
		return i
	}
	if t.byName == nil {
		t.byName = make(map[string]uint32)
		t.names, t.refs = []string{""}, []uint32{0}
	}
	name = keepID(t.intern, name)
	var i uint32
	if n := len(t.free); n > 0 {
		i, t.free = t.free[n-1], t.free[:n-1]
		t.names[i], t.refs[i] = name, 1
	} else {
		i = uint32(len(t.names))
		t.names, t.refs = append(t.names, name), append(t.refs, 1)
	}
	t.byName[name] = i
	return i
}

// unref drops a reference returned by ref.
func (t *senderTable) unref(i uint32) {
	if i == 0 {
		return
	}
	if t.refs[i]--; t.refs[i] == 0 {
		delete(t.byName, t.names[i])
		t.names[i] = ""
		t.free = append(t.free, i)
	}
}

func (t *senderTable) name(i uint32) string {
	if i == 0 {
		return ""
	}
	return t.names[i]
}
