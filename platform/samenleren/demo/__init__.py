"""Demo data and the embedded development setup behind `make run`."""
