"""Project tooling: validation, NLU report checks, benchmarks."""
