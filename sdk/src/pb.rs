//! The generated `cif.v1` messages, clients and (feature `server`) service traits.
#![allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]

tonic::include_proto!("cif.v1");

/// The encoded descriptor set of every `cif.v1` file, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("cif_v1_descriptor");
