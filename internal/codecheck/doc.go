// Package codecheck holds tests of the repository's own rules that no
// compiler checks: short functions outside cmd/, and a core that links no
// storage engine, no cgo and no heavy dependency. It has no code.
package codecheck
