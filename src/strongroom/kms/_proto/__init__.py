"""Generated KMS v2 protobuf/gRPC stubs (scripts/gen-kms-proto)."""
