//! Tests of the registry against a simple reference model.
