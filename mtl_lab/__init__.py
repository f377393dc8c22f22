"""mtl_lab: config-driven multi-task learning experiments (Hydra + PyTorch Lightning)."""

__version__ = "0.1.0"
