"""One package per component type; each exposes `factory`."""
