"""Test helpers we own: builders, a recording publisher, the broker fixture."""
