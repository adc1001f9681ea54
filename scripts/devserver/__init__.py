"""Local stand-ins for the cloud services that `make dev` and the tests use, so neither needs the network."""
