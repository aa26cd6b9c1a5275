"""
Learning curves: training loss and validation RMSE per epoch
============================================================

``loss_curve_`` records the training objective after each epoch and, with
``early_stopping=True``, ``validation_scores_`` the RMSE of a held-out slice: the
alternating solvers lower the loss every epoch, and the validation RMSE shows when
further epochs stop helping.
"""

import matplotlib.pyplot as plt
from _data import ratings

from sklearn_mf import MatrixFactorization

X, y, source = ratings()
fig, (loss_ax, score_ax) = plt.subplots(1, 2, figsize=(8, 3.5))
for solver in ("cg", "als", "sgd"):
    model = MatrixFactorization(
        solver=solver,
        alpha=0.08,
        early_stopping=True,
        max_iter=30,
        tol=None,
        random_state=0,
    ).fit(X, y)
    epochs = range(1, model.n_iter_ + 1)
    loss_ax.plot(epochs, model.loss_curve_, label=solver)
    score_ax.plot(epochs, model.validation_scores_, label=solver)
loss_ax.set(xlabel="epoch", ylabel="training objective", yscale="log")
score_ax.set(xlabel="epoch", ylabel="validation RMSE")
score_ax.legend()
fig.suptitle(source)
fig.tight_layout()
