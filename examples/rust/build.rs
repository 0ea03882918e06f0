// Links libsds: the directory named by LIBSDS_DIR, or this repository's
// build/ (where `make lib` puts libsds.so). An rpath lets the tests and
// programs find the library without LD_LIBRARY_PATH.
use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBSDS_DIR");
    let dir = match env::var_os("LIBSDS_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap()).join("../../build"),
    };
    let dir = dir.canonicalize().unwrap_or(dir);
    println!("cargo:rerun-if-changed={}", dir.join("libsds.so").display());
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-lib=dylib=sds");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
}
