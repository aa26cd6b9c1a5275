"""
Cold start: new users described by their attributes
===================================================

A user the model never saw gets the fallback ``global_mean_ + item_bias_``. With a
table of user attributes joined in by :class:`~sklearn_mf.preprocessing.AttributeJoiner`
and ``feature_factors=True``, a new user's age, gender and occupation give it a latent
vector of its own. Grouping the folds by user makes every test user new.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from _data import ratings, users
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from sklearn_mf import MatrixFactorization
from sklearn_mf.preprocessing import AttributeJoiner

X, y, source = ratings()
table = users()
if table is None:  # planted data: an attribute drawn per user, for illustration
    rng = np.random.default_rng(0)
    ids = np.unique(X.iloc[:, 0])
    table = pd.DataFrame({"group": rng.integers(0, 5, ids.size).astype(str)}, index=ids)
else:
    table = table[["age", "gender", "occupation"]]

models = {
    "ids only\n(fallback)": MatrixFactorization(random_state=0),
    "attributes,\nlinear term": make_pipeline(
        AttributeJoiner(user_attributes=table), MatrixFactorization(random_state=0)
    ),
    "attributes,\nfeature_factors": make_pipeline(
        AttributeJoiner(user_attributes=table),
        MatrixFactorization(feature_factors=True, random_state=0),
    ),
}
rmse = {
    name: -cross_val_score(
        model,
        X,
        y,
        groups=X.iloc[:, 0],
        cv=GroupKFold(3),
        scoring="neg_root_mean_squared_error",
    ).mean()
    for name, model in models.items()
}

# %%
# RMSE on users none of the models saw in training.
fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.bar(list(rmse), list(rmse.values()), color=["grey", "tab:blue", "tab:orange"])
ax.set_ylim(min(rmse.values()) - 0.02, max(rmse.values()) + 0.01)
ax.set(ylabel="RMSE on new users", title=f"Cold start, 3-fold by user, {source}")
for position, value in enumerate(rmse.values()):
    ax.text(position, value + 0.002, f"{value:.4f}", ha="center")
fig.tight_layout()
