//! Integration tests of zkrisk-models.

mod onnx_parity;
