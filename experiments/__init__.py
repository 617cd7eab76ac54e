"""The shorts: one module per experiment, each exposing ``run(cfg, ctx) -> dict[str, float]``."""
