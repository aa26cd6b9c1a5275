"""
Tuning rank and penalty with GridSearchCV
=========================================

``MatrixFactorization`` is a scikit-learn regressor, so ``GridSearchCV`` tunes it like
any other. Here a per-user 3-fold split (every test user keeps training ratings)
scores a grid of ranks ``n_components`` and penalties ``alpha`` by RMSE, and the heat
map shows where the model under- and over-fits.
"""

import matplotlib.pyplot as plt
import numpy as np
from _data import ratings
from sklearn.model_selection import GridSearchCV

from sklearn_mf import MatrixFactorization
from sklearn_mf.model_selection import PerUserKFold

X, y, source = ratings()
grid = {"n_components": [4, 16, 64], "alpha": [0.02, 0.08, 0.32]}
search = GridSearchCV(
    MatrixFactorization(max_iter=15, random_state=0),
    grid,
    cv=PerUserKFold(n_splits=3, random_state=0),
    scoring="neg_root_mean_squared_error",
).fit(X, y)

# %%
# The mean test RMSE of each setting: too small a penalty overfits at high rank,
# too large a one shrinks every vector away.
rmse = -search.cv_results_["mean_test_score"].reshape(
    len(grid["alpha"]), len(grid["n_components"])
)
fig, ax = plt.subplots(figsize=(5, 4))
image = ax.imshow(rmse, cmap="viridis_r")
ax.set_xticks(range(3), grid["n_components"])
ax.set_yticks(range(3), grid["alpha"])
ax.set_xlabel("n_components")
ax.set_ylabel("alpha")
middle = (rmse.min() + rmse.max()) / 2
for (row, col), value in np.ndenumerate(rmse):
    color = "black" if value < middle else "white"  # dark text on the light cells
    ax.text(col, row, f"{value:.3f}", ha="center", va="center", color=color)
fig.colorbar(image, label="RMSE")
ax.set_title(f"3-fold per-user RMSE, {source}")
fig.tight_layout()
print("best:", search.best_params_, f"RMSE {-search.best_score_:.4f}")
