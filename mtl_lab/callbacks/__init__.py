"""Lightning callbacks: the ones mtl_lab adds to every run, and optional ones selected in conf/callbacks/."""

from mtl_lab.callbacks.summary_fields import SummaryContributor, collect_summary_fields
from mtl_lab.callbacks.task_affinity import TaskAffinity
from mtl_lab.callbacks.throughput import TrainThroughput

__all__ = ["SummaryContributor", "TaskAffinity", "TrainThroughput", "collect_summary_fields"]
