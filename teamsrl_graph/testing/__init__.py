"""Test helpers that ship with the package (so tests and benchmarks share them): a fake
OpenAI-compatible server for exercising the HTTP client path without a real model."""
