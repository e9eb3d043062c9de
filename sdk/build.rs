//! Generates the cif.v1 messages and clients (and, with the `server` feature, the service
//! traits) from ../proto with the protoc shipped by `protoc-bin-vendored`, so a fresh machine
//! needs no system protoc. The descriptor set is embedded for server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../proto");
    let mut files: Vec<PathBuf> = std::fs::read_dir(proto_root.join("cif/v1"))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|path| path.extension().is_some_and(|ext| ext == "proto"));
    files.sort();
    println!(
        "cargo:rerun-if-changed={}",
        proto_root.join("cif/v1").display()
    );

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure()
        .build_server(std::env::var_os("CARGO_FEATURE_SERVER").is_some())
        .build_client(true)
        // Ordered maps encode the same way every time, so a request's bytes identify it (the
        // server fingerprints requests that carry a request id).
        .btree_map(".")
        .file_descriptor_set_path(out_dir.join("cif_v1_descriptor.bin"))
        .compile_with_config(config, &files, &[proto_root])?;
    Ok(())
}
