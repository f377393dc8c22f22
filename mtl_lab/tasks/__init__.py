"""Task kinds (one file each, registered in :data:`TASK_KINDS`) and :class:`TaskSpec`, a task of the data."""

from mtl_lab.tasks.base import TASK_KINDS, TaskExample, TaskKind
from mtl_lab.tasks.binary import Binary
from mtl_lab.tasks.classification import Classification
from mtl_lab.tasks.multilabel import Multilabel
from mtl_lab.tasks.regression import Regression
from mtl_lab.tasks.spec import TaskSpec
from mtl_lab.tasks.token_classification import TokenClassification

__all__ = [
    "TASK_KINDS",
    "Binary",
    "Classification",
    "Multilabel",
    "Regression",
    "TaskExample",
    "TaskKind",
    "TaskSpec",
    "TokenClassification",
]
