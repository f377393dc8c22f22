"""mtl-predict: a finished run's predictions for a split or a new table file, written in input order
(:func:`~mtl_lab.prediction.run.predict_run`)."""

from mtl_lab.prediction.run import PredictionResult, predict_run

__all__ = ["PredictionResult", "predict_run"]
