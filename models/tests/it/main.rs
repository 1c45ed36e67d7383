//! Integration tests of zkrisk-models.

mod link_vectors;
mod onnx_parity;
