#!/usr/bin/python3
"""metrics.py OUT.lua -- scikit-learn's answers for tests/lua/metrics_spec.lua.

Draws seeded predictions and targets (labels, class scores, binary
probabilities with ties, regression values), scores them with scikit-learn
(Debian's python3-sklearn) and writes a Lua file returning each case: the
inputs, the dl.metrics call to make, and sklearn's result (a number, a list,
a matrix or the classification report's text). Labels are written as they
are given to both libraries: 1..C for multi-class, 0/1 for binary.
"""
import sys

import numpy as np
from sklearn import metrics as M

rng = np.random.default_rng(0)
cases = []


def lua(v):
    if isinstance(v, np.ndarray):
        return lua(v.tolist())
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if np.isnan(v):
            return "0/0"
        return repr(float(v))
    if isinstance(v, str):
        return "[==[" + v + "]==]"
    if v is None:
        return "nil"
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(x) for x in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join("%s = %s" % (k, lua(x)) for k, x in v.items()) + "}"
    raise TypeError(type(v))


def add(name, fn, pred, target, want, opts=None):
    cases.append(dict(name=name, fn=fn, pred=np.asarray(pred, dtype=np.float32),
                      target=np.asarray(target, dtype=np.float32), want=want, opts=opts))


def labels_case(tag, y_true, y_pred, binary):
    averages = ["binary", "macro", "micro", "weighted"] if binary else ["macro", "micro", "weighted"]
    add(tag + " accuracy", "accuracy", y_pred, y_true, M.accuracy_score(y_true, y_pred))
    for average in averages:
        opts = {"average": average}
        add(tag + " precision " + average, "precision", y_pred, y_true,
            M.precision_score(y_true, y_pred, average=average, zero_division=0), opts)
        add(tag + " recall " + average, "recall", y_pred, y_true,
            M.recall_score(y_true, y_pred, average=average, zero_division=0), opts)
        add(tag + " f1 " + average, "f1", y_pred, y_true,
            M.f1_score(y_true, y_pred, average=average, zero_division=0), opts)
    add(tag + " f1 per class", "f1", y_pred, y_true,
        M.f1_score(y_true, y_pred, average=None, zero_division=0).tolist(), {"average": "none"})
    add(tag + " confusion", "confusion_matrix", y_pred, y_true, M.confusion_matrix(y_true, y_pred))
    add(tag + " kappa", "cohen_kappa", y_pred, y_true, M.cohen_kappa_score(y_true, y_pred))
    for weights in ["linear", "quadratic"]:
        add(tag + " kappa " + weights, "cohen_kappa", y_pred, y_true,
            M.cohen_kappa_score(y_true, y_pred, weights=weights), {"weights": weights})
    add(tag + " report", "classification_report", y_pred, y_true,
        M.classification_report(y_true, y_pred, zero_division=0))
    add(tag + " report digits 4", "classification_report", y_pred, y_true,
        M.classification_report(y_true, y_pred, zero_division=0, digits=4), {"digits": 4})


# Multi-class labels 1..4, some noise.
y_true = rng.integers(1, 5, 200)
y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(1, 5, 200))
labels_case("multiclass", y_true, y_pred, False)

# A class that is never predicted, and one that never occurs in the targets.
y_true = rng.integers(1, 4, 60)
y_pred = np.where(y_true == 3, 1, y_true)
y_pred[:5] = 4
labels_case("unpredicted class", y_true, y_pred, False)

# Binary 0/1.
y_true = rng.integers(0, 2, 150)
y_pred = np.where(rng.random(150) < 0.7, y_true, 1 - y_true)
labels_case("binary", y_true, y_pred, True)

# One class only, predicted perfectly and imperfectly.
labels_case("one class", np.ones(10, dtype=int), np.ones(10, dtype=int), True)
labels_case("one class missed", np.ones(10, dtype=int), np.r_[np.ones(7), np.zeros(3)].astype(int), True)

# Named classes in the report.
y_true = rng.integers(1, 4, 40)
y_pred = np.where(rng.random(40) < 0.5, y_true, rng.integers(1, 4, 40))
names = ["setosa", "versicolor", "virginica"]
add("report names", "classification_report", y_pred, y_true,
    M.classification_report(y_true, y_pred, target_names=names, zero_division=0), {"target_names": names})
add("report labels subset", "classification_report", y_pred, y_true,
    M.classification_report(y_true, y_pred, labels=[1, 2], zero_division=0), {"labels": [1, 2]})

# Class scores N x C: labels are the argmax (1-based).
scores = rng.normal(size=(120, 5)).astype(np.float32)
y_true = rng.integers(1, 6, 120)
add("scores accuracy", "accuracy", scores, y_true, M.accuracy_score(y_true, scores.argmax(1) + 1))
for k in [1, 2, 3]:
    add("top %d" % k, "top_k_accuracy", scores, y_true,
        M.top_k_accuracy_score(y_true, scores, k=k, labels=[1, 2, 3, 4, 5]), {"k": k})
tied = np.round(scores, 0).astype(np.float32)
add("top 2 ties", "top_k_accuracy", tied, y_true,
    M.top_k_accuracy_score(y_true, tied, k=2, labels=[1, 2, 3, 4, 5]), {"k": 2})

# Binary probabilities: thresholded at 0.5 for accuracy, ranked for AUC.
y_true = rng.integers(0, 2, 300)
prob = np.clip(0.35 * y_true + rng.random(300) * 0.65, 0, 1).astype(np.float32)
add("prob accuracy", "accuracy", prob, y_true, M.accuracy_score(y_true, (prob > 0.5).astype(int)))
add("prob f1", "f1", prob, y_true, M.f1_score(y_true, (prob > 0.5).astype(int)))
add("auc", "roc_auc", prob, y_true, M.roc_auc_score(y_true, prob))
ties = np.round(prob * 4) / 4
add("auc ties", "roc_auc", ties.astype(np.float32), y_true, M.roc_auc_score(y_true, ties))
add("auc all tied", "roc_auc", np.full(300, 0.5, np.float32), y_true,
    M.roc_auc_score(y_true, np.full(300, 0.5)))
two_columns = np.stack([1 - prob, prob], 1)
add("auc two columns", "roc_auc", two_columns, y_true, M.roc_auc_score(y_true, prob))

# Multi-class AUC, one-vs-rest.
logits = rng.normal(size=(200, 4))
y_true = rng.integers(1, 5, 200)
logits[np.arange(200), y_true - 1] += 1.0
prob4 = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
prob4 = prob4.astype(np.float32)
for average in ["macro", "weighted"]:
    add("auc ovr " + average, "roc_auc", prob4, y_true,
        M.roc_auc_score(y_true, prob4.astype(np.float64), multi_class="ovr", average=average),
        {"average": average})

# Regression, one and two outputs, and a constant target.
target = rng.normal(size=100).astype(np.float32)
pred = (target + rng.normal(size=100) * 0.3).astype(np.float32)
for fn, sk in [("mse", M.mean_squared_error), ("mae", M.mean_absolute_error), ("r2", M.r2_score)]:
    add("regression " + fn, fn, pred, target, sk(target, pred))
target2 = rng.normal(size=(50, 2)).astype(np.float32)
pred2 = (target2 + rng.normal(size=(50, 2))).astype(np.float32)
for fn, sk in [("mse", M.mean_squared_error), ("mae", M.mean_absolute_error), ("r2", M.r2_score)]:
    add("two outputs " + fn, fn, pred2, target2, sk(target2, pred2))
constant = np.full(10, 3.0, np.float32)
add("r2 constant exact", "r2", constant, constant, M.r2_score(constant, constant))
add("r2 constant missed", "r2", constant + 1, constant, M.r2_score(constant, constant + 1))

with open(sys.argv[1], "w") as out:
    out.write("-- written by tests/oracle/metrics.py: scikit-learn's answers\nreturn {\n")
    for c in cases:
        out.write("  {name = %s, fn = %s, pred = %s, pshape = %s, target = %s, tshape = %s, want = %s, opts = %s},\n" % (
            lua(c["name"]), lua(c["fn"]), lua(c["pred"].reshape(-1)), lua(list(c["pred"].shape)),
            lua(c["target"].reshape(-1)), lua(list(c["target"].shape)), lua(c["want"]), lua(c["opts"])))
    out.write("}\n")
