"""
Top-N evaluation over the whole catalogue
=========================================

Recommenders are judged on the lists they show. Here 10 ratings of each user are
held out at random, every item a user has not rated in training is ranked, and the
top of the list is scored against the held-out items, for two models and for
recommending the most popular items.
"""

import matplotlib.pyplot as plt
import numpy as np
from _data import ratings

from sklearn_mf import MatrixFactorization
from sklearn_mf.metrics import precision_recall_at_cutoffs
from sklearn_mf.model_selection import PerUserHoldout

X, y, source = ratings()
train, test = next(PerUserHoldout(test_size=10, random_state=0).split(X))


class Popularity:
    """The most-rated training items each user has not rated."""

    def fit(self, X, y=None):
        counts = X.iloc[:, 1].value_counts()
        self.items_ = counts.index.to_numpy()
        self.seen_ = X.groupby(X.columns[0])[X.columns[1]].agg(set).to_dict()
        return self

    def recommend(self, users, n=10):
        lists = []
        for user in users:
            seen = self.seen_.get(user, set())
            lists.append([i for i in self.items_[: n + len(seen)] if i not in seen][:n])
        return np.array(lists), np.zeros((len(lists), n))


models = {
    "MatrixFactorization()": MatrixFactorization(random_state=0),
    'MatrixFactorization(implicit_feedback="both")': MatrixFactorization(
        implicit_feedback="both", random_state=0
    ),
    "popularity": Popularity(),
}

# %%
# Precision and recall of the top-N lists at several lengths: a model fitted to the
# observed ratings is not a ranking of the whole catalogue, and popularity is a
# strong baseline there (see the user guide).
fig, ax = plt.subplots(figsize=(5, 4))
for name, model in models.items():
    model.fit(X.iloc[train], y.iloc[train])
    curve = precision_recall_at_cutoffs(
        model, X.iloc[test], y.iloc[test], cutoffs=(1, 2, 5, 10, 20, 50)
    )
    ax.plot(curve["recall"], curve["precision"], marker="o", label=name)
ax.set_xlabel("recall")
ax.set_ylabel("precision")
ax.set_title(f"Top-N over the catalogue, {source}")
ax.legend(fontsize="small")
fig.tight_layout()
