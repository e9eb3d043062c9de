//! Generates the storage messages (`cifd.store.v1`, server/proto) with the protoc shipped by
//! `protoc-bin-vendored`, so a fresh machine needs no system protoc. These messages are the
//! embedded store's encoding, not the public API: src/store/encoding includes them.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("proto");
    let store = proto_root.join("cifd/store/v1/store.proto");
    println!("cargo:rerun-if-changed={}", store.display());

    prost_build::Config::new()
        .protoc_executable(protoc_bin_vendored::protoc_bin_path()?)
        .compile_protos(&[store], &[proto_root])?;
    Ok(())
}
