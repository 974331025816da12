"""The contract's machine-readable documents, served by the service itself."""
