"""
Bayesian uncertainty: are the intervals calibrated?
===================================================

``BayesianMatrixFactorization.predict(X, return_std=True)`` gives each prediction a
standard deviation. If it is honest, the share of test ratings inside the central
interval of each nominal coverage should match that coverage: the calibration curve
then follows the diagonal.
"""

import matplotlib.pyplot as plt
import numpy as np
from _data import ratings
from scipy.stats import norm

from sklearn_mf import BayesianMatrixFactorization
from sklearn_mf.model_selection import PerUserHoldout

X, y, source = ratings()
train, test = next(PerUserHoldout(test_size=0.1, random_state=0).split(X))
model = BayesianMatrixFactorization(
    n_components=16, n_iter=60, burn_in=20, random_state=0
).fit(X.iloc[train], y.iloc[train])
mean, std = model.predict(X.iloc[test], return_std=True)
z = np.abs(y.iloc[test].to_numpy() - mean) / std
nominal = np.linspace(0.05, 0.95, 19)
observed = [(z <= norm.ppf(0.5 + p / 2)).mean() for p in nominal]

fig, ax = plt.subplots(figsize=(4, 4))
ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="calibrated")
ax.plot(nominal, observed, marker="o", label="BayesianMatrixFactorization")
ax.set(xlabel="nominal coverage", ylabel="observed coverage", title=source)
ax.legend()
fig.tight_layout()
