"""Loggers that mtl_lab adds to Lightning's (``conf/logger/``)."""

from mtl_lab.loggers.wandb_run import WandbRunLogger

__all__ = ["WandbRunLogger"]
