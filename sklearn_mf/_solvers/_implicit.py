"""The implicit-feedback term of SVD++ for the alternating solvers."""

import numpy as np

from .._kernels._implicit import curvature_moments, residual_moments, scaled_sums
from .._ratings import RatingData
from ._model import FactorModel


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.vdot(a, b))


class ImplicitTerm:
    """Each user's implicit vector ``z_u = s_u sum_r w_r y_j(r)`` and the updates of ``y``.

    ``s_u = (sum_r w_r)^(-1/2)`` over the user's training ratings (0 for users without
    weight). The item vectors ``y`` couple every user who rated them, so they are not
    solved row by row: each epoch takes conjugate-gradient steps on the whole ``y``
    problem (a quadratic in ``y`` once the rest is fixed), which lowers the objective
    at every step.
    """

    def __init__(self, data: RatingData):
        self.data = data
        weight = data.user_weight
        self.user_scale = np.zeros(data.n_users)
        np.divide(1.0, np.sqrt(weight), out=self.user_scale, where=weight > 0)
        self._user_ones = np.ones(data.n_users)
        self._item_ones = np.ones(data.n_items)

    def sums(self, item_vectors: np.ndarray) -> np.ndarray:
        """``z``: the implicit vector of every user for the item vectors given."""
        side = self.data.by_user
        out = np.empty((self.data.n_users, item_vectors.shape[1]))
        scaled_sums(
            side.chunks,
            side.indptr,
            side.other,
            side.weight,
            self.user_scale,
            self._item_ones,
            item_vectors,
            out,
        )
        return out

    def _to_items(self, user_vectors: np.ndarray) -> np.ndarray:
        """The transpose of :meth:`sums`: per-user vectors carried back to items."""
        side = self.data.by_item
        out = np.empty((self.data.n_items, user_vectors.shape[1]))
        scaled_sums(
            side.chunks,
            side.indptr,
            side.other,
            side.weight,
            self._item_ones,
            self.user_scale,
            user_vectors,
            out,
        )
        return out

    def step(self, model: FactorModel, alpha: float, n_steps: int) -> None:
        """``n_steps`` CG steps on ``model.implicit_factors`` (in place), from where it is.

        The ``y`` problem is ``min sum_r w_r (e_r - q_j . z_u(y))^2 + alpha sum_j W_j
        |y_j|^2`` with everything else fixed (``alpha`` is ``alpha_implicit``); its
        normal equations are ``(B' S A S B + alpha W) y = B' S g`` with
        ``A_u = sum_r w_r q_j q_j'``.
        """
        data = self.data
        side = data.by_user
        y = model.implicit_factors
        penalty = alpha * data.item_weight[:, None]
        moments = np.empty((data.n_users, y.shape[1]))
        residual_moments(
            side.chunks,
            side.indptr,
            side.other,
            data.side_target(side, model.coef),
            side.weight,
            model.user_bias,
            model.item_bias,
            model.user_factors + self.sums(y),
            model.item_factors,
            moments,
        )
        residual = self._to_items(moments) - penalty * y
        direction = residual.copy()
        rr = _dot(residual, residual)
        for _ in range(n_steps):
            if rr <= 1e-300:
                break
            curvature_moments(
                side.chunks,
                side.indptr,
                side.other,
                side.weight,
                self.sums(direction),
                model.item_factors,
                moments,
            )
            applied = self._to_items(moments) + penalty * direction
            step = rr / _dot(direction, applied)
            y += step * direction
            residual -= step * applied
            rr_next = _dot(residual, residual)
            direction *= rr_next / rr
            direction += residual
            rr = rr_next
