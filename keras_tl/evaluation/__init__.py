"""Evaluation reports: the metrics table, confusion matrix, ROC and
history plots the tutorials write by hand. Metrics come from
scikit-learn and plots from matplotlib (`pip install keras_tl[report]`);
the plots never touch pyplot or the user's matplotlib backend.

Example:

```python
report = keras_tl.evaluation.evaluate(model, test_ds, split="test")
print(report["text"])
keras_tl.evaluation.plot_confusion_matrix(report, "confusion_matrix.png")
rows = keras_tl.evaluation.compare_models({"vgg16": m1, "mobilenet": m2}, test_ds)
print(keras_tl.evaluation.format_table(rows))
```
"""

from keras_tl.evaluation.metrics import compare_models
from keras_tl.evaluation.metrics import evaluate
from keras_tl.evaluation.metrics import metrics_from_predictions
from keras_tl.evaluation.metrics import predict_with_labels
from keras_tl.evaluation.metrics import probabilities_from_logits
from keras_tl.evaluation.metrics import report_text
from keras_tl.evaluation.plots import plot_confusion_matrix
from keras_tl.evaluation.plots import plot_history
from keras_tl.evaluation.plots import plot_roc
from keras_tl.evaluation.plots import split_title
from keras_tl.evaluation.plots import trainable_changes
from keras_tl.evaluation.tables import format_table

__all__ = [
    "compare_models",
    "evaluate",
    "format_table",
    "metrics_from_predictions",
    "plot_confusion_matrix",
    "plot_history",
    "plot_roc",
    "predict_with_labels",
    "probabilities_from_logits",
    "report_text",
    "split_title",
    "trainable_changes",
]
