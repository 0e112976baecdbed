//! Marks the shared library as never unloaded (ELF `DF_1_NODELETE`): JavaScript views of native memory
//! hold deallocators that point into this library's code (see src/abi/view.rs), and a garbage collector
//! may run them after `dlclose` (after `closeLibrary()` in TypeScript). Keeping the code mapped makes
//! that always safe; reopening the library then finds the same instance.
fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" || target_os == "android" || target_os.ends_with("bsd") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
    }
}
