"""The terms summed into a row's vector: SVD++'s implicit feedback and the latent
vectors of user or item attributes; their sums, and their CG step in the alternating
solvers."""

from functools import cached_property

import numpy as np

from .._attributes import SideAttributes
from .._kernels._implicit import error_gradient, scaled_sums
from .._kernels._types import Side
from .._ratings import RatingData, SideIndex


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.vdot(a, b))


class SummedTerm:
    """Shared vectors ``y`` whose linear image ``A y`` is added to the vectors of one
    side's rows (users for ``side="user"``), penalised by
    ``alpha sum_j penalty_weight[j] |y_j|^2``.

    Subclasses define ``A`` (:meth:`sums`), its transpose (:meth:`to_cols`) and
    ``penalty_weight``. The vectors couple every row that uses them, so they are not
    solved row by row: each epoch takes conjugate-gradient steps on their whole problem
    (a quadratic once the rest is fixed), which lowers the objective at every step.
    """

    data: RatingData
    side: str
    penalty_weight: np.ndarray

    @property
    def rows(self) -> SideIndex:
        """The ratings grouped by the rows of this term's side."""
        return self.data.by_user if self.side == "user" else self.data.by_item

    def sums(self, vectors: np.ndarray) -> np.ndarray:
        """Every row's sum ``A y`` for the shared vectors ``vectors``."""
        raise NotImplementedError

    def to_cols(self, per_row: np.ndarray) -> np.ndarray:
        """The transpose of :meth:`sums`: per-row vectors carried to the shared ones."""
        raise NotImplementedError

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
        """``n_steps`` CG steps on the shared vectors ``implicit`` (in place).

        For the user side, the problem is ``min sum_r w_r (e_r - q_j . (A y)_u)^2 +
        alpha sum_j P_j |y_j|^2`` with everything else fixed: ``row_vectors`` are the
        users' full vectors at the current ``y`` and ``col_vectors`` the items' full
        vectors. Its normal equations are ``(A' M A + alpha P) y = A' g`` with
        ``M_u = sum_r w_r q_j q_j'``.
        """
        rows = self.rows
        ratings = rows.ratings(self.data.side_target(rows, coef))
        cols = Side(col_bias, col_vectors)
        penalty = alpha * self.penalty_weight[:, None]
        gradient = np.empty((row_bias.shape[0], implicit.shape[1]))

        def error_moments(vectors: np.ndarray, use_target: bool) -> np.ndarray:
            error_gradient(
                rows.chunks,
                ratings,
                Side(row_bias, vectors),
                cols,
                use_target,
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


class AttributeTerm(SummedTerm):
    """The attribute factors of one side: row ``u`` gets ``sum_f x_uf v_f``, one
    latent vector ``v_f`` per attribute column, with ``x_u`` the row's standardised
    attribute values. Each ``v_f`` enters every rating, so its penalty is ``alpha``
    per rating: ``alpha W |v_f|^2`` with ``W`` the total weight."""

    def __init__(self, data: RatingData, side: str, attributes: SideAttributes):
        self.data = data
        self.side = side
        self.values = attributes.values
        self.penalty_weight = np.full(attributes.n_columns, data.total_weight)

    def sums(self, vectors: np.ndarray) -> np.ndarray:
        return self.values @ vectors

    def to_cols(self, per_row: np.ndarray) -> np.ndarray:
        return self.values.T @ per_row


class ImplicitTerm(SummedTerm):
    """The implicit term of one side, written for users (``side="user"``):
    ``z_u = s_u sum_r w_r y_j(r)`` added to each user's vector, with one implicit
    vector ``y_j`` per item and ``s_u = (sum_r w_r)^(-1/2)`` over the user's training
    ratings (0 for users without weight). ``side="item"`` is the mirror image: each
    item's vector gets the normalised sum of implicit vectors of the users who rated it.

    Each ``y_j`` is penalised per rating of its column: ``alpha W_j |y_j|^2``.
    """

    def __init__(self, data: RatingData, side: str):
        self.data = data
        self.side = side
        if side == "user":
            row_weight, self.penalty_weight = data.user_weight, data.item_weight
        else:
            row_weight, self.penalty_weight = data.item_weight, data.user_weight
        self.row_scale = np.zeros(row_weight.shape[0])
        np.divide(1.0, np.sqrt(row_weight), out=self.row_scale, where=row_weight > 0)
        self._col_ones = np.ones(self.penalty_weight.shape[0])

    @cached_property
    def cols(self) -> SideIndex:
        """The ratings grouped by the other side (only the CG step needs them)."""
        return self.data.by_item if self.side == "user" else self.data.by_user

    @staticmethod
    def _scaled_sums(side: SideIndex, row_scale, other_scale, vectors) -> np.ndarray:
        out = np.empty((side.indptr.shape[0] - 1, vectors.shape[1]))
        scaled_sums(side.chunks, side.ratings(), row_scale, other_scale, vectors, out)
        return out

    def sums(self, implicit: np.ndarray) -> np.ndarray:
        """Every row's implicit vector for the implicit vectors ``implicit`` of the
        other side."""
        return self._scaled_sums(self.rows, self.row_scale, self._col_ones, implicit)

    def to_cols(self, per_row: np.ndarray) -> np.ndarray:
        """The transpose of :meth:`sums`: per-row vectors carried back to the other side."""
        return self._scaled_sums(self.cols, self._col_ones, self.row_scale, per_row)
