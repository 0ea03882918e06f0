package persist

// NewWriter lets the external tests start a Writer that does not know what
// the backend holds (the manager always starts one from Bootstrap).
var NewWriter = newWriter
