"""Lightning callbacks that mtl_lab adds to every run."""

from mtl_lab.callbacks.throughput import TrainThroughput

__all__ = ["TrainThroughput"]
