"""
Top-N for one user
==================

``recommend`` returns each user's best items among those it has not rated, with their
predicted ratings. Here is what the model recommends to one MovieLens user, next to
the films that user rated highest. Rarely rated films with a few high ratings rank
high: the model predicts ratings, and a list ranked by predicted rating favours them
(the top-N evaluation example measures what that costs against popularity).
"""

import matplotlib.pyplot as plt
from _data import movies, ratings

from sklearn_mf import MatrixFactorization

X, y, source = ratings()
model = MatrixFactorization(random_state=0).fit(X, y)
user = X.iloc[0, 0]
items, scores = model.recommend([user], n=10)
table = movies()


def title(item) -> str:
    return str(item) if table is None else table.loc[item, "title"]


rated = X[X.iloc[:, 0] == user].assign(rating=y).nlargest(5, "rating")
print(f"User {user} rated highest:")
for item, rating in zip(rated.iloc[:, 1], rated["rating"], strict=True):
    print(f"  {rating:.0f}  {title(item)}")

# %%
# The recommendations, best first, with their predicted ratings.
fig, ax = plt.subplots(figsize=(7, 4))
ax.barh([title(item) for item in items[0]][::-1], scores[0][::-1])
ax.set(xlabel="predicted rating", title=f"Top 10 for user {user}, {source}")
ax.set_xlim(scores[0].min() - 0.3, scores[0].max() + 0.1)
fig.tight_layout()
