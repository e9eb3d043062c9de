//! The generated `cifd.store.v1` messages (server/build.rs, from
//! server/proto/cifd/store/v1/store.proto). Generated code is not held to the crate's lints.
#![allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all, dead_code)]

include!(concat!(env!("OUT_DIR"), "/cifd.store.v1.rs"));
