"""
Prediction error by user activity
=================================

How much a user's ratings tell the model: the test RMSE of users grouped by how many
training ratings they have, for the bias-only model and the default factorization.
Users with few ratings lean on their biases; the latent vectors pay off as the
ratings accumulate.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from _data import ratings

from sklearn_mf import MatrixFactorization
from sklearn_mf.model_selection import PerUserHoldout

X, y, source = ratings()
train, test = next(PerUserHoldout(test_size=0.2, random_state=0).split(X))
activity = X.iloc[train, 0].value_counts()
groups = pd.cut(X.iloc[test, 0].map(activity).to_numpy(), [0, 25, 50, 100, 200, np.inf])
fig, ax = plt.subplots(figsize=(5.5, 3.5))
for name, model in (
    ("bias only", MatrixFactorization(n_components=0, random_state=0)),
    ("default", MatrixFactorization(random_state=0)),
):
    model.fit(X.iloc[train], y.iloc[train])
    error = (model.predict(X.iloc[test]) - y.iloc[test].to_numpy()) ** 2
    rmse = pd.Series(error).groupby(groups, observed=True).mean() ** 0.5
    ax.plot([str(g) for g in rmse.index], rmse.to_numpy(), marker="o", label=name)
ax.set(xlabel="training ratings of the user", ylabel="test RMSE", title=source)
ax.legend()
fig.tight_layout()
