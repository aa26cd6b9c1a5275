"""Alternating least squares: exact block minimisation, so the loss never rises."""

import numpy as np

from .._kernels._als import als_cg_half_step, als_half_step
from .._kernels._types import Penalty, Ratings, Side
from .._ratings import RatingData, SideIndex, chunk_bounds
from ._implicit import AttributeTerm, ImplicitTerm
from ._model import FactorModel, objective, penalty
from ._options import SolverOptions

# Conjugate-gradient steps per epoch on the implicit-feedback vectors when the rows
# are solved exactly (cg_steps=None): that problem couples all items, so it has no
# cheap exact solve.
IMPLICIT_STEPS = 3

# With cg_steps, an other side's factor matrix larger than this is read through a
# float32 copy: a CG half-step is then bound by fetching the rows it gathers from
# memory, and half the bytes make large fits markedly faster (benchmarks/README.md,
# "Figures behind code choices"). Below it the matrix mostly sits in the last-level
# cache, and float64 reads keep the loss exactly non-increasing.
FLOAT32_GATHER_BYTES = 16 << 20


def gathers_in_float32(n_rows: int, n_components: int, cg_steps: int | None) -> bool:
    """Whether a CG half-step reads an other side of ``n_rows`` vectors of length
    ``n_components`` through a float32 copy (see ``FLOAT32_GATHER_BYTES``)."""
    return cg_steps is not None and n_rows * n_components * 8 > FLOAT32_GATHER_BYTES


def solve_side(
    side: SideIndex,
    target: np.ndarray,
    other: Side,
    out: Side,
    penalty: Penalty,
    prior: np.ndarray,
    cg_steps: int | None,
    *,
    score: bool = False,
) -> float | None:
    """Solve every row of ``side`` against its ratings' ``target`` (in ``side``'s
    order) with the other side's biases and vectors ``other`` fixed, into ``out``
    (which CG starts from): exactly with ``cg_steps=None``, else by that many
    conjugate-gradient steps. With ``score`` and CG, also return the weighted squared
    error of the ratings at the new rows (else None)."""
    ratings = side.ratings(target)
    if cg_steps is None:
        als_half_step(side.chunks, ratings, other, penalty, prior, out)
        return None
    squared_errors = np.zeros(out.bias.shape[0] if score else 0)
    # A float32 copy means a matrix too large for the caches: the kernel then
    # prefetches (see als_cg_half_step).
    prefetch_from = other.vectors if other.vectors.dtype == np.float32 else None
    als_cg_half_step(
        side.chunks,
        ratings,
        other,
        penalty,
        prior,
        cg_steps,
        out,
        squared_errors,
        prefetch_from,
    )
    return float(squared_errors.sum()) if score else None


def penalised_gram(gram: np.ndarray, penalty: float) -> np.ndarray:
    """The feature coefficients' Gram matrix ``X' W X`` (in place) plus ``penalty``
    (the total weight times ``alpha_bias``) on its diagonal."""
    gram[np.diag_indices_from(gram)] += penalty
    return gram


def coefficients(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """The feature coefficients' ridge solution, from the penalised Gram matrix and
    ``X' W r`` (``r``: the residuals of everything but the feature term)."""
    try:
        return np.linalg.solve(gram, rhs)
    except np.linalg.LinAlgError:
        # Singular without a penalty (alpha_bias=0) when a column is constant or
        # repeats another: the least-norm solution.
        return np.linalg.lstsq(gram, rhs)[0]


class ALSSolver:
    """One epoch solves for all users, then all items, then the shared vectors of
    each summed term (implicit feedback, attribute factors; if any), then the feature
    coefficients.

    With ``cg_steps=None`` every per-row ridge problem is solved exactly (Cholesky);
    otherwise by that many conjugate-gradient steps from the previous solution.
    """

    dtype = np.float64

    def __init__(self, data: RatingData, options: SolverOptions):
        self.data = data
        alpha, alpha_implicit = options.alpha, options.alpha_implicit
        self.alpha_implicit = alpha_implicit
        # Per side: the summed terms, each with the model field of its shared
        # vectors and its penalty.
        self.terms: dict[str, list] = {"user": [], "item": []}
        for side, implicit_field in (
            ("user", "item_implicit"),
            ("item", "user_implicit"),
        ):
            if side in options.implicit_sides:
                self.terms[side].append(
                    (ImplicitTerm(data, side), implicit_field, alpha_implicit)
                )
        if options.attributes is not None:
            for side, side_attributes in zip(
                ("user", "item"), options.attributes, strict=True
            ):
                if side_attributes.n_columns:
                    self.terms[side].append(
                        (
                            AttributeTerm(data, side, side_attributes),
                            f"{side}_attribute_factors",
                            alpha,
                        )
                    )
        self.cg_steps = options.cg_steps
        self.alpha = alpha
        self.alpha_bias = options.alpha_bias
        self.fit_bias = options.fit_bias
        features = data.features
        if features.shape[1]:
            # The coefficient step is one small ridge regression whose Gram matrix is
            # fixed for the whole fit.
            self._feature_gram = penalised_gram(
                features.T @ (features * data.weight[:, None]),
                data.total_weight * self.alpha_bias,
            )

    def _with_terms(self, model: FactorModel, side: str):
        """``(factors + sums, sums)`` with the sums of ``side``'s terms, or
        ``(factors, no rows)`` without any."""
        factors = model.user_factors if side == "user" else model.item_factors
        terms = self.terms[side]
        if not terms:
            return factors, np.zeros((0, factors.shape[1]))
        sums = sum(term.sums(getattr(model, name)) for term, name, _ in terms)
        return factors + sums, sums

    def full_vectors(self, model: FactorModel) -> tuple[np.ndarray, np.ndarray]:
        """The vectors whose dot products make the predictions: the factors plus the
        sums of their side's terms."""
        return self._with_terms(model, "user")[0], self._with_terms(model, "item")[0]

    def _solve_side(
        self,
        side: SideIndex,
        coef,
        other_bias,
        other_factors,
        bias,
        factors,
        prior,
        score: bool = False,
    ) -> float | None:
        """Solve every row of ``side``; with ``score`` and CG, also return the
        weighted squared error of its ratings at the new rows (else None)."""
        if gathers_in_float32(*other_factors.shape, self.cg_steps):
            other_factors = other_factors.astype(np.float32)
        return solve_side(
            side,
            self.data.side_target(side, coef),
            Side(other_bias, other_factors),
            Side(bias, factors),
            Penalty(self.alpha, self.alpha_bias, self.fit_bias),
            prior,
            self.cg_steps,
            score=score,
        )

    def epoch(self, model: FactorModel) -> float:
        """Run one epoch on ``model`` and return the objective it reaches."""
        data = self.data
        # With summed terms, a side's step solves for its full vectors (own factors
        # plus the sums), penalised towards the sums (the prior), and the factors
        # are the difference.
        users, user_prior = self._with_terms(model, "user")
        items, item_prior = self._with_terms(model, "item")
        self._solve_side(
            data.by_user,
            model.coef,
            model.item_bias,
            items,
            model.user_bias,
            users,
            user_prior,
        )
        if self.terms["user"]:
            model.user_factors[:] = users - user_prior
        # Without summed terms or features the items' step is the epoch's last
        # change, so it can score the ratings on the way.
        last = not (self.terms["user"] or self.terms["item"] or model.coef.size)
        squared_error = self._solve_side(
            data.by_item,
            model.coef,
            model.user_bias,
            users,
            model.item_bias,
            items,
            item_prior,
            score=last,
        )
        if squared_error is not None:
            return (
                squared_error
                + penalty(model, data, self.alpha, self.alpha_bias, self.alpha_implicit)
            ) / data.total_weight
        if self.terms["item"]:
            model.item_factors[:] = items - item_prior
        steps = self.cg_steps or IMPLICIT_STEPS
        for term, name, alpha in self.terms["user"]:
            term.step(
                getattr(model, name),
                model.coef,
                model.user_bias,
                model.item_bias,
                users,
                items,
                alpha,
                steps,
            )
            users, _ = self._with_terms(model, "user")
        for term, name, alpha in self.terms["item"]:
            term.step(
                getattr(model, name),
                model.coef,
                model.item_bias,
                model.user_bias,
                items,
                users,
                alpha,
                steps,
            )
            items, _ = self._with_terms(model, "item")
        if model.coef.size:
            # Residual of everything but the feature term, regressed on the features.
            residual = (
                data.target
                - model.estimate(data, users, items)
                + data.feature_term(model.coef)
            )
            rhs = data.features.T @ (data.weight * residual)
            model.coef[:] = coefficients(self._feature_gram, rhs)
        return objective(
            model,
            data,
            self.alpha,
            self.alpha_bias,
            self.alpha_implicit,
            users,
            items,
        )


def solve_rows(
    indptr: np.ndarray,
    other_codes: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray,
    other_bias: np.ndarray,
    other_vectors: np.ndarray,
    prior: np.ndarray,
    *,
    alpha: float,
    alpha_bias: float,
    fit_bias: bool,
    n_chunks: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``(bias, vectors)`` of rows solved exactly against their ratings (CSR by
    ``indptr``: the other side's codes, targets, weights), the other side fixed; each
    row's vector is penalised towards its ``prior`` row (no rows: towards zero)."""
    n_rows, k = indptr.shape[0] - 1, other_vectors.shape[1]
    bias = np.zeros(n_rows)
    vectors = np.zeros((n_rows, k))
    als_half_step(
        chunk_bounds(indptr, k, n_chunks),
        Ratings(indptr, other_codes, target, weight),
        Side(other_bias, other_vectors),
        Penalty(alpha, alpha_bias, fit_bias),
        prior,
        Side(bias, vectors),
    )
    return bias, vectors
