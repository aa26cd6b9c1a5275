"""How a ``MatrixFactorization`` fit runs: the penalty search, the held-out slice,
the solver and its epochs, and the fitted state they make."""

import dataclasses
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

import numpy as np

from ._alpha_search import SEARCH_TOL, search_alpha
from ._alpha_search import START as AUTO_START
from ._attributes import SideAttributes, find_attributes, fitted_attributes
from ._held_out import HeldOutScore, Validation, split_held_out
from ._ratings import RatingData, SideIndex, is_unit_weights
from ._solvers import (
    FactorModel,
    SolverOptions,
    TrainingResult,
    implicit_sides,
    initial_model,
    solver_class,
    train,
)
from ._state import FittedState, RatingHistory, SideState
from ._training_set import TrainingSet
from ._warm_start import carry_over, reuse_previous
from .utils._random import draw_seeds
from .utils._threads import numba_threads
from .utils._validation import RatingInput


class _Seeds(NamedTuple):
    """The seeds a fit draws from ``random_state``: initial vectors, SGD's visiting
    order, the held-out slice."""

    init: int
    order: int
    split: int


def _history(
    by_user: SideIndex, train_set: TrainingSet, model: FactorModel
) -> RatingHistory:
    """What each user rated in training, with the targets ``partial_fit`` re-solves
    a row against: in rating units, net of the global mean (already) and the linear
    term (fixed from now on). The index is the fit's own, so its targets can change
    in place."""
    target = by_user.target
    target *= train_set.rating_scale
    if model.coef.size:
        target -= by_user.gather(train_set.features @ model.coef)
    weight = by_user.weight
    return RatingHistory(
        by_user.indptr,
        by_user.other,
        target,
        None if is_unit_weights(weight) else weight,
    )


def _summed(vectors: np.ndarray, factors: np.ndarray) -> np.ndarray | None:
    """A side's full vectors for its state: None when they are its factors."""
    return None if vectors is factors else vectors


@dataclass(frozen=True)
class MFTraining:
    """One fit of a ``MatrixFactorization``: its (validated) parameters, and the
    fitted state to start from with ``warm_start`` (``previous``, else None).

    :meth:`run` returns a new :class:`~sklearn_mf._state.FittedState`; it reads no
    estimator and changes nothing but the arrays it creates.
    """

    n_components: int
    solver: str
    cg_steps: int
    alpha: float | str
    alpha_bias: float
    fit_bias: bool
    implicit_feedback: bool | str
    feature_factors: bool
    alpha_implicit: float | None
    max_iter: int
    tol: float | None
    learning_rate: float
    init_std: float
    early_stopping: bool
    validation_fraction: float
    n_iter_no_change: int
    clip: bool
    n_jobs: int | None
    random_state: Any
    verbose: int
    previous: FittedState | None = None

    @classmethod
    def of(cls, params: dict, previous: FittedState | None) -> "MFTraining":
        """The fit of an estimator with the parameters ``params`` (its
        ``get_params()``)."""
        names = {field.name for field in fields(cls)} - {"previous"}
        return cls(**{name: params[name] for name in names}, previous=previous)

    @property
    def implicit_sides(self) -> frozenset:
        return implicit_sides(self.implicit_feedback)

    def run(
        self, ratings: RatingInput, y: np.ndarray, sample_weight: np.ndarray
    ) -> tuple[FittedState, bool]:
        """The fitted state of the validated ratings, and whether the stopping rule
        fired."""
        seeds = _Seeds(*draw_seeds(self.random_state, 3))
        alpha, alpha_scores, held_out_fit = self._choose_alpha(
            ratings, y, sample_weight, seeds
        )
        ratings, y, sample_weight, validation = self._split_validation(
            ratings, y, sample_weight, seeds.split
        )
        train_set = TrainingSet(ratings, y, sample_weight)
        attributes = self._attributes(train_set)
        with numba_threads(self.n_jobs, single_blas_thread=True) as n_threads:
            data = train_set.rating_data(self.n_components, 4 * n_threads)
            model = self._initial_model(train_set, data, seeds.init, attributes)
            if held_out_fit is not None:
                # All the ratings start from the search's fit of most of them.
                carry_over(model, train_set, *held_out_fit)
            result, solver = self._train(
                train_set, data, attributes, alpha, seeds.order, validation, model
            )
            # The solvers fitted standardised ratings; the fitted state is in rating
            # units (and float64, whatever precision the solver trained in).
            model = result.model.astype(np.float64).rescaled(train_set.rating_scale)
            full_vectors = solver.full_vectors(model)
            # The rating indexes are the fit's largest arrays: free all but the
            # ratings grouped by user, which the fitted model keeps (recommend,
            # partial_fit), before the state is built (SGD builds that index first:
            # its own layout starts from it).
            del solver
            by_user = data.by_user
            del data
        state = self._fitted_state(
            train_set, by_user, model, full_vectors, attributes, result
        )
        state = dataclasses.replace(state, alpha=alpha, alpha_scores=alpha_scores)
        return state, result.converged

    def _fitted_state(
        self,
        train_set: TrainingSet,
        by_user: SideIndex,
        model: FactorModel,
        full_vectors: tuple[np.ndarray, np.ndarray],
        attributes: tuple[SideAttributes, SideAttributes] | None,
        result: TrainingResult,
    ) -> FittedState:
        sides = self.implicit_sides
        feature_scale = train_set.feature_scale
        feature_sides = feature_factors = None
        attribute_bias = (None, None)
        if attributes is not None:
            feature_sides, feature_factors, attribute_bias = fitted_attributes(
                attributes,
                feature_scale.shape[0],
                (model.user_attribute_factors, model.item_attribute_factors),
                model.coef,
            )
            feature_factors /= feature_scale[:, None]
        return FittedState(
            users=SideState(
                train_set.users,
                model.user_bias,
                model.user_factors,
                _summed(full_vectors[0], model.user_factors),
                model.user_implicit if "item" in sides else None,
                attribute_bias[0],
            ),
            items=SideState(
                train_set.items,
                model.item_bias,
                model.item_factors,
                _summed(full_vectors[1], model.item_factors),
                model.item_implicit if "user" in sides else None,
                attribute_bias[1],
            ),
            global_mean=train_set.global_mean,
            rating_scale=train_set.rating_scale,
            rating_range=train_set.rating_range,
            coef=model.coef / feature_scale,
            feature_mean=train_set.feature_mean,
            history=_history(by_user, train_set, model),
            n_iter=result.n_iter,
            weight_scale=train_set.weight_scale,
            feature_sides=feature_sides,
            feature_factors=feature_factors,
            folded_items=np.zeros(len(train_set.items), dtype=bool),
            loss_curve=result.loss_curve,
            validation_scores=result.validation_scores,
        )

    def _attributes(
        self, train_set: TrainingSet
    ) -> tuple[SideAttributes, SideAttributes] | None:
        if not self.feature_factors:
            return None
        return find_attributes(
            train_set.user_codes,
            train_set.item_codes,
            len(train_set.users),
            len(train_set.items),
            train_set.features,
        )

    def _initial_model(
        self,
        train_set: TrainingSet,
        data: RatingData,
        seed: int,
        attributes: tuple[SideAttributes, SideAttributes] | None,
    ) -> FactorModel:
        """The initial model of a fit (the previous fit's with ``warm_start``)."""
        model = initial_model(
            train_set.user_seeds,
            train_set.item_seeds,
            train_set.features.shape[1],
            self.n_components,
            self.implicit_sides,
            seed,
            self.init_std,
            solver_class(self.solver, self.implicit_sides).dtype,
            (0, 0) if attributes is None else tuple(a.n_columns for a in attributes),
        )
        if self.previous is not None:
            reuse_previous(self.previous, train_set, model, attributes)
        # The objective does not involve rows without weight; zero vectors make
        # them predict like unknown ids, whichever solver runs.
        model.user_factors[data.user_weight == 0] = 0.0
        model.item_factors[data.item_weight == 0] = 0.0
        return model

    def _train(
        self,
        train_set: TrainingSet,
        data: RatingData,
        attributes: tuple[SideAttributes, SideAttributes] | None,
        alpha: float,
        order_seed: int,
        validation: Validation | None,
        model: FactorModel,
        searching: bool = False,
    ) -> tuple[TrainingResult, object]:
        """Fit the standardised ratings of ``train_set`` with the factor penalty
        ``alpha``, starting from ``model`` (which the solver updates in place);
        return the training result and the solver.

        The fits of the penalty search (``searching``) only have to rank the
        penalties: they stop at a looser tolerance, after one epoch without
        improvement, and print their epochs from ``verbose=2`` on.
        """
        tol, patience, verbose = self.tol, self.n_iter_no_change, self.verbose
        if searching:
            tol = max(tol or 0.0, SEARCH_TOL)
            patience, verbose = 1, max(verbose - 1, 0)
        options = SolverOptions(
            alpha=alpha,
            alpha_bias=self.alpha_bias,
            fit_bias=self.fit_bias,
            implicit_sides=self.implicit_sides,
            alpha_implicit=(
                10 * alpha if self.alpha_implicit is None else self.alpha_implicit
            ),
            attributes=attributes,
            cg_steps=self.cg_steps if self.solver == "cg" else None,
            learning_rate=self.learning_rate if self.solver == "sgd" else None,
            order_seed=order_seed,
        )
        solver = solver_class(self.solver, options.implicit_sides)(data, options)
        validation_score = None
        if validation is not None:
            held_out = HeldOutScore(train_set, validation, self.clip, attributes)
            validation_score = held_out.rmse_callback(solver.full_vectors)
        result = train(
            solver,
            model,
            max_iter=self.max_iter,
            tol=tol,
            n_iter_no_change=patience,
            validation_score=validation_score,
            verbose=verbose,
            solver_name=self.solver,
            loss_unit=train_set.rating_scale**2,
            remedy=(
                "Lower learning_rate or raise alpha."
                if self.solver == "sgd"
                else "Check alpha and init_std, and the ratings, weights and features, "
                "for extreme values."
            ),
        )
        return result, solver

    def _choose_alpha(
        self, ratings: RatingInput, y, sample_weight, seeds: _Seeds
    ) -> tuple[float, dict[float, float] | None, tuple | None]:
        """``(alpha_, alpha_scores_, held-out fit)``.

        With ``alpha="auto"``: the penalty of the ladder with the lowest RMSE on
        ``validation_fraction`` of the ratings held out, the RMSE of each penalty
        tried, and the fit of the other ratings with the chosen penalty (its model,
        users and items), from which the fit of all the ratings starts.
        """
        if self.alpha != "auto":
            return self.alpha, None, None
        split = split_held_out(
            ratings, y, sample_weight, self.validation_fraction, seeds.split
        )
        if split is None:  # too few ratings to hold any out
            return AUTO_START, None, None
        train_ratings, train_y, train_weight, validation = split
        train_set = TrainingSet(train_ratings, train_y, train_weight)
        attributes = self._attributes(train_set)
        held_out = HeldOutScore(train_set, validation, self.clip, attributes)
        with numba_threads(self.n_jobs, single_blas_thread=True) as n_threads:
            data = train_set.rating_data(self.n_components, 4 * n_threads)

            def score(alpha: float, start: FactorModel | None):
                model = (
                    self._initial_model(train_set, data, seeds.init, attributes)
                    if start is None
                    else start.copy()
                )
                result, solver = self._train(
                    train_set,
                    data,
                    attributes,
                    alpha,
                    seeds.order,
                    None,
                    model,
                    searching=True,
                )
                errors = held_out.errors(
                    result.model, solver.full_vectors(result.model)
                )
                if self.verbose:
                    rmse = np.sqrt(errors.mean()) * train_set.rating_scale
                    print(f"alpha={alpha}: held-out RMSE {rmse:.5f}")
                return errors, result.model

            alpha, mean_errors, model = search_alpha(score)
        scores = {
            alpha: float(np.sqrt(error) * train_set.rating_scale)
            for alpha, error in mean_errors.items()
        }
        return alpha, scores, (model, train_set.users, train_set.items)

    def _split_validation(
        self, ratings: RatingInput, y, sample_weight, seed: int
    ) -> tuple[RatingInput, np.ndarray, np.ndarray, Validation | None]:
        if not self.early_stopping:
            return ratings, y, sample_weight, None
        split = split_held_out(
            ratings, y, sample_weight, self.validation_fraction, seed
        )
        if split is None:
            raise ValueError(
                "early_stopping needs ratings with positive sample_weight left for "
                f"training after holding out validation_fraction="
                f"{self.validation_fraction} of the {ratings.n_samples} ratings."
            )
        return split
