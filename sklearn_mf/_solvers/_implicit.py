"""The implicit-feedback terms of SVD++: their sums, and the CG step of the
alternating solvers."""

from functools import cached_property

import numpy as np

from .._kernels._implicit import error_gradient, scaled_sums
from .._ratings import RatingData, SideIndex


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.vdot(a, b))


class ImplicitTerm:
    """The implicit term of one side, written for users (``side="users"``):
    ``z_u = s_u sum_r w_r y_j(r)`` added to each user's vector, with one implicit
    vector ``y_j`` per item and ``s_u = (sum_r w_r)^(-1/2)`` over the user's training
    ratings (0 for users without weight). ``side="items"`` is the mirror image: each
    item's vector gets the normalised sum of implicit vectors of the users who rated it.

    The implicit vectors couple every row that rated them, so they are not solved row
    by row: each epoch takes conjugate-gradient steps on their whole problem (a
    quadratic once the rest is fixed), which lowers the objective at every step.
    """

    def __init__(self, data: RatingData, side: str):
        self.data = data
        self.side = side
        if side == "users":
            self.rows = data.by_user
            row_weight, self.col_weight = data.user_weight, data.item_weight
        else:
            self.rows = data.by_item
            row_weight, self.col_weight = data.item_weight, data.user_weight
        self.row_scale = np.zeros(row_weight.shape[0])
        np.divide(1.0, np.sqrt(row_weight), out=self.row_scale, where=row_weight > 0)
        self._col_ones = np.ones(self.col_weight.shape[0])

    @cached_property
    def cols(self) -> SideIndex:
        """The ratings grouped by the other side (only the CG step needs them)."""
        return self.data.by_item if self.side == "users" else self.data.by_user

    @staticmethod
    def _scaled_sums(side: SideIndex, row_scale, other_scale, vectors) -> np.ndarray:
        out = np.empty((side.indptr.shape[0] - 1, vectors.shape[1]))
        scaled_sums(
            side.chunks,
            side.indptr,
            side.other,
            side.weight,
            row_scale,
            other_scale,
            vectors,
            out,
        )
        return out

    def sums(self, implicit: np.ndarray) -> np.ndarray:
        """Every row's implicit vector for the implicit vectors ``implicit`` of the
        other side."""
        return self._scaled_sums(self.rows, self.row_scale, self._col_ones, implicit)

    def to_cols(self, per_row: np.ndarray) -> np.ndarray:
        """The transpose of :meth:`sums`: per-row vectors carried back to the other side."""
        return self._scaled_sums(self.cols, self._col_ones, self.row_scale, per_row)

    def step(
        self,
        implicit: np.ndarray,
        coef: np.ndarray,
        row_bias: np.ndarray,
        col_bias: np.ndarray,
        row_vectors: np.ndarray,
        col_vectors: np.ndarray,
        alpha: float,
        n_steps: int,
    ) -> None:
        """``n_steps`` CG steps on ``implicit`` (in place), from where it is.

        For the user side, the problem is ``min sum_r w_r (e_r - q_j . z_u(y))^2 +
        alpha sum_j W_j |y_j|^2`` with everything else fixed: ``row_vectors`` are the
        users' full vectors ``p_u + z_u(y)`` at the current ``y`` and ``col_vectors``
        the items' full vectors. Its normal equations are
        ``(B' S A S B + alpha W) y = B' S g`` with ``A_u = sum_r w_r q_j q_j'``.
        """
        rows = self.rows
        target = self.data.side_target(rows, coef)
        penalty = alpha * self.col_weight[:, None]
        gradient = np.empty((self.row_scale.shape[0], implicit.shape[1]))

        def error_moments(vectors: np.ndarray, use_target: bool) -> np.ndarray:
            error_gradient(
                rows.chunks,
                rows.indptr,
                rows.other,
                rows.weight,
                target,
                row_bias,
                col_bias,
                use_target,
                vectors,
                col_vectors,
                gradient,
            )
            return self.to_cols(gradient)

        residual = -error_moments(row_vectors, True) - penalty * implicit
        direction = residual.copy()
        rr = _dot(residual, residual)
        for _ in range(n_steps):
            if rr <= 1e-300:
                break
            applied = error_moments(self.sums(direction), False) + penalty * direction
            step = rr / _dot(direction, applied)
            implicit += step * direction
            residual -= step * applied
            rr_next = _dot(residual, residual)
            direction *= rr_next / rr
            direction += residual
            rr = rr_next
