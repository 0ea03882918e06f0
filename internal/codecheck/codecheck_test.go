package codecheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// maxFuncLines is the longest a function outside cmd/ may be, its
// signature and closing brace included.
const maxFuncLines = 80

// moduleRoot is the directory of this module's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// TestFunctionLength fails for any function of the module's non-test Go
// code outside cmd/ longer than maxFuncLines. Directories with a go.mod of
// their own are other modules and are skipped.
func TestFunctionLength(t *testing.T) {
	root := moduleRoot(t)
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "cmd" || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			if n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1; n > maxFuncLines {
				t.Errorf("%s:%d: %s is %d lines, more than %d", rel, fset.Position(fn.Pos()).Line, fn.Name.Name, n, maxFuncLines)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCoreDependencies checks what package sds links: its own
// sub-packages (none with cgo) and the standard library, plus only the
// small modules listed; no storage engine (the core opens no store),
// nothing of the C boundary.
func TestCoreDependencies(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}} {{len .CgoFiles}}", "./sds")
	cmd.Dir = moduleRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, cgoFiles, _ := strings.Cut(line, " ")
		if strings.HasPrefix(pkg, "github.com/libsds-go/libsds/") && cgoFiles != "0" {
			t.Errorf("%s uses cgo", pkg)
		}
		isStd := !strings.Contains(strings.SplitN(pkg, "/", 2)[0], ".")
		if !isStd && !coreMayLink(pkg) {
			t.Errorf("sds links %s", pkg)
		}
	}
}

// coreDeps are the modules (or packages) outside the standard library
// the core may link.
var coreDeps = []string{
	"github.com/libsds-go/libsds/sds",
	"github.com/dgryski/go-farm",
	"github.com/rs/zerolog",
	"golang.org/x/sys", // zerolog's terminal detection
	"github.com/mattn/go-colorable",
	"github.com/mattn/go-isatty",
	"google.golang.org/protobuf/encoding/protowire",
	"google.golang.org/protobuf/internal",
}

// coreMayLink reports whether package sds may link pkg: the embedded
// store is opened by the application, not the core.
func coreMayLink(pkg string) bool {
	if strings.HasPrefix(pkg, "github.com/libsds-go/libsds/sds/persist/bolt") {
		return false
	}
	for _, d := range coreDeps {
		if pkg == d || strings.HasPrefix(pkg, d+"/") {
			return true
		}
	}
	return false
}
