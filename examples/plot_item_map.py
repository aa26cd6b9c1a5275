"""
A map of the item vectors
=========================

Each item's latent vector (``item_factors_``) places it among the others: items rated
alike by the same users lie close. Projected on their two principal components, the
MovieLens films of some genres gather (horror films low on the second component),
though the model never saw a genre.
"""

import matplotlib.pyplot as plt
import numpy as np
from _data import movies, ratings
from sklearn.decomposition import PCA

from sklearn_mf import MatrixFactorization

X, y, source = ratings()
model = MatrixFactorization(random_state=0).fit(X, y)
# Items with few ratings keep vectors near zero: map the ones with 50 ratings or more.
counts = X.iloc[:, 1].value_counts()
frequent = np.isin(model.items_, counts.index[counts >= 50])
points = PCA(n_components=2).fit_transform(model.item_factors_[frequent])

fig, ax = plt.subplots(figsize=(6, 5))
table = movies()
if table is None:  # planted data: colour by popularity instead of genre
    shade = counts.reindex(model.items_[frequent]).to_numpy()
    ax.scatter(*points.T, c=np.log(shade), s=8, cmap="viridis")
else:
    genres = table.loc[model.items_[frequent]]
    for genre in ("Horror", "Children's", "Documentary", "Film-Noir", "Romance"):
        mine = genres[genre].to_numpy() == 1
        ax.scatter(*points[mine].T, s=10, label=genre)
    ax.legend(fontsize="small")
ax.set(xlabel="first principal component", ylabel="second principal component")
ax.set_title(f"Item vectors, {source}")
fig.tight_layout()
