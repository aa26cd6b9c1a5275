"""Alternating least squares: exact block minimisation, so the loss never rises."""

import numpy as np

from .._attributes import SideAttributes
from .._kernels._als import als_cg_half_step, als_half_step
from .._ratings import RatingData, SideIndex
from ._implicit import AttributeTerm, ImplicitTerm
from ._model import FactorModel, objective, penalty

# Conjugate-gradient steps per epoch on the implicit-feedback vectors when the rows
# are solved exactly (cg_steps=None): that problem couples all items, so it has no
# cheap exact solve.
IMPLICIT_STEPS = 3

# With cg_steps, an other side's factor matrix larger than this is read through a
# float32 copy: a CG half-step is then bound by fetching the rows it gathers from
# memory, and half the bytes took a quarter off a default fit of 25M ratings
# (160,000 x 60,000, matrices of 78 and 29 MiB). Below it the matrix mostly sits in
# the last-level cache, and float64 reads keep the loss exactly non-increasing.
FLOAT32_GATHER_BYTES = 16 << 20


class ALSSolver:
    """One epoch solves for all users, then all items, then the shared vectors of
    each summed term (implicit feedback, attribute factors; if any), then the feature
    coefficients.

    With ``cg_steps=None`` every per-row ridge problem is solved exactly (Cholesky);
    otherwise by that many conjugate-gradient steps from the previous solution.
    Options meant for other solvers (``learning_rate``, ``random_state``) are ignored.
    """

    dtype = np.float64

    def __init__(
        self,
        data: RatingData,
        *,
        alpha: float,
        alpha_bias: float,
        fit_bias: bool,
        implicit_sides: frozenset = frozenset(),
        alpha_implicit: float = 0.0,
        attributes: tuple[SideAttributes, SideAttributes] | None = None,
        cg_steps: int | None = None,
        **_,
    ):
        self.data = data
        self.alpha_implicit = alpha_implicit
        # Per side: the summed terms, each with the model field of its shared
        # vectors and its penalty.
        self.terms: dict[str, list] = {"users": [], "items": []}
        for side, implicit_field in (
            ("users", "item_implicit"),
            ("items", "user_implicit"),
        ):
            if side in implicit_sides:
                self.terms[side].append(
                    (ImplicitTerm(data, side), implicit_field, alpha_implicit)
                )
        if attributes is not None:
            for side, side_attributes in zip(
                ("users", "items"), attributes, strict=True
            ):
                if side_attributes.n_columns:
                    self.terms[side].append(
                        (
                            AttributeTerm(data, side, side_attributes),
                            f"{side[:-1]}_attribute_factors",
                            alpha,
                        )
                    )
        self.cg_steps = cg_steps
        self.alpha = alpha
        self.alpha_bias = alpha_bias
        self.fit_bias = fit_bias
        features = data.features
        if features.shape[1]:
            # The coefficient step is one small ridge regression whose Gram matrix is
            # fixed for the whole fit.
            self._feature_gram = features.T @ (features * data.weight[:, None])
            self._feature_gram[np.diag_indices_from(self._feature_gram)] += (
                data.total_weight * alpha_bias
            )

    def _with_terms(self, model: FactorModel, side: str):
        """``(factors + sums, sums)`` with the sums of ``side``'s terms, or
        ``(factors, no rows)`` without any."""
        factors = model.user_factors if side == "users" else model.item_factors
        terms = self.terms[side]
        if not terms:
            return factors, np.zeros((0, factors.shape[1]))
        sums = sum(term.sums(getattr(model, name)) for term, name, _ in terms)
        return factors + sums, sums

    def full_vectors(self, model: FactorModel) -> tuple[np.ndarray, np.ndarray]:
        """The vectors whose dot products make the predictions: the factors plus the
        sums of their side's terms."""
        return self._with_terms(model, "users")[0], self._with_terms(model, "items")[0]

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
        if self.cg_steps is not None and other_factors.nbytes > FLOAT32_GATHER_BYTES:
            other_factors = other_factors.astype(np.float32)
        arguments = (
            side.chunks,
            side.indptr,
            side.other,
            self.data.side_target(side, coef),
            side.weight,
            other_bias,
            other_factors,
            self.alpha,
            self.alpha_bias,
            self.fit_bias,
            prior,
        )
        if self.cg_steps is None:
            als_half_step(*arguments, bias, factors)
            return None
        squared_errors = np.zeros(bias.shape[0] if score else 0)
        als_cg_half_step(*arguments, self.cg_steps, bias, factors, squared_errors)
        return float(squared_errors.sum()) if score else None

    def epoch(self, model: FactorModel) -> float:
        """Run one epoch on ``model`` and return the objective it reaches."""
        data = self.data
        # With summed terms, a side's step solves for its full vectors (own factors
        # plus the sums), penalised towards the sums (the prior), and the factors
        # are the difference.
        users, user_prior = self._with_terms(model, "users")
        items, item_prior = self._with_terms(model, "items")
        self._solve_side(
            data.by_user,
            model.coef,
            model.item_bias,
            items,
            model.user_bias,
            users,
            user_prior,
        )
        if self.terms["users"]:
            model.user_factors[:] = users - user_prior
        # Without summed terms or features the items' step is the epoch's last
        # change, so it can score the ratings on the way.
        last = not (self.terms["users"] or self.terms["items"] or model.coef.size)
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
        if self.terms["items"]:
            model.item_factors[:] = items - item_prior
        steps = self.cg_steps or IMPLICIT_STEPS
        for term, name, alpha in self.terms["users"]:
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
            users, _ = self._with_terms(model, "users")
        for term, name, alpha in self.terms["items"]:
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
            items, _ = self._with_terms(model, "items")
        if model.coef.size:
            # Residual of everything but the feature term, regressed on the features.
            residual = (
                data.target
                - model.estimate(data, users, items)
                + data.feature_term(model.coef)
            )
            rhs = data.features.T @ (data.weight * residual)
            model.coef[:] = np.linalg.solve(self._feature_gram, rhs)
        return objective(
            model,
            data,
            self.alpha,
            self.alpha_bias,
            self.alpha_implicit,
            users,
            items,
        )
