"""DaskMatrixFactorization: MatrixFactorization's model, fitted on a Dask cluster."""

import dataclasses
import warnings
from numbers import Real

from distributed import default_client
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from .._base import FittedAttributes
from .._mf import MatrixFactorization
from .._state import FittedAttribute, freeze
from ..utils._sklearn import Interval, StrOptions
from . import _collections, _fit

_UNSUPPORTED = {
    "implicit_feedback": "the implicit sums couple every row with all it rated",
    "feature_factors": "attribute vectors are not distributed yet",
    "early_stopping": "the held-out split is not distributed yet; set max_iter",
    "warm_start": "each fit starts afresh",
}


class DaskMatrixFactorization(FittedAttributes, RegressorMixin, BaseEstimator):
    """Biased matrix factorization fitted on a Dask cluster, with the ratings kept
    on the workers.

    The model, its objective, initialisation and row solves are those of
    :class:`~sklearn_mf.MatrixFactorization` (read its documentation for the
    parameters): fitted on the same ratings with the same parameters and
    ``random_state``, the two fit the same model, whatever the number of workers
    and partitions: bit for bit without side features when both run the same
    compiled kernels, to rounding otherwise.
    :meth:`to_local` returns that
    ``MatrixFactorization``, with every method (``recommend``, ``partial_fit``,
    pickling).

    The ratings are validated partition by partition, then grouped once into user
    blocks and item blocks (contiguous ranges of ids of about equal work, one of
    each per worker), which stay on the workers; so do the factor rows of each
    block. A half-step of the users sends each user block, from each item block,
    only the item rows its ratings name, and solves the block's users on the
    threads of its worker; then the items alike. No worker ever holds all
    ratings, and the client only sums a few numbers per block and epoch. See
    :ref:`scaling_out` for the memory and traffic this takes.

    Requires the optional ``dask`` extra (``pip install "sklearn-mf[dask]"``).

    Parameters
    ----------
    n_components, cg_steps, alpha_bias, fit_bias, max_iter, tol, init_std, \
clip, n_iter_no_change, n_jobs, random_state, verbose
        As in :class:`~sklearn_mf.MatrixFactorization`. ``n_jobs`` is that of
        :meth:`to_local`'s model and of prediction; the fit's tasks use the
        threads of their worker.

    solver : {"cg", "als"}, default="cg"
        As in ``MatrixFactorization``; ``"sgd"`` is not distributed.

    alpha : float, default=0.08
        L2 penalty on the latent vectors, as in ``MatrixFactorization``. ``"auto"``
        (``MatrixFactorization``'s default, a search on held-out ratings that
        starts at 0.08) is not distributed: tune ``alpha`` by a distributed
        ``GridSearchCV`` of ``MatrixFactorization`` on a sample.

    implicit_feedback, feature_factors, early_stopping, warm_start : False
        Not supported: only their default, False, is accepted.

    alpha_implicit, learning_rate, validation_fraction
        Accepted for a common parameter set, and unused.

    client : distributed.Client or None, default=None
        The Dask client to fit on; None means the default client
        (``distributed.default_client()``). ``clone`` shares it; pickling drops it
        (an unpickled estimator uses the default client).

    Attributes
    ----------
    global_mean_, rating_scale_, rating_range_, users_, items_, user_bias_, \
item_bias_, user_factors_, item_factors_, coef_, alpha_, n_iter_, loss_curve_, \
n_features_in_, feature_names_in_
        As in :class:`~sklearn_mf.MatrixFactorization`, gathered on the client.

    See Also
    --------
    sklearn_mf.MatrixFactorization : The same model on one machine.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> from distributed import Client, LocalCluster
    >>> from sklearn_mf.dask import DaskMatrixFactorization
    >>> from sklearn_mf.datasets import make_ratings
    >>> X, y, _ = make_ratings(n_users=60, n_items=40, n_ratings=900, random_state=0)
    >>> cluster = LocalCluster(
    ...     n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ... )
    >>> client = Client(cluster)
    >>> X, y = dd.from_array(X, chunksize=300), dd.from_array(y, chunksize=300)
    >>> model = DaskMatrixFactorization(n_components=4, random_state=0).fit(X, y)
    >>> model.predict(X).compute().shape
    (900,)
    >>> local = model.to_local()
    >>> items, scores = local.recommend([0], n=3)
    >>> items.shape
    (1, 3)
    >>> client.close(); cluster.close()
    """

    _parameter_constraints: dict = {
        **MatrixFactorization._parameter_constraints,
        "solver": [StrOptions({"cg", "als"})],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "client": "no_validation",
    }

    alpha_ = FittedAttribute(lambda state: state.alpha)
    loss_curve_ = FittedAttribute(lambda state: state.loss_curve)

    def __init__(
        self,
        n_components: int = 64,
        *,
        solver: str = "cg",
        cg_steps: int = 3,
        alpha: float = 0.08,
        alpha_bias: float = 0.05,
        fit_bias: bool = True,
        implicit_feedback: bool = False,
        feature_factors: bool = False,
        alpha_implicit: float | None = None,
        max_iter: int = 50,
        tol: float | None = 1e-3,
        learning_rate: float = 0.005,
        init_std: float = 0.1,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 2,
        clip: bool = True,
        warm_start: bool = False,
        n_jobs: int | None = None,
        random_state=None,
        verbose: int = 0,
        client=None,
    ):
        self.n_components = n_components
        self.solver = solver
        self.cg_steps = cg_steps
        self.alpha = alpha
        self.alpha_bias = alpha_bias
        self.fit_bias = fit_bias
        self.implicit_feedback = implicit_feedback
        self.feature_factors = feature_factors
        self.alpha_implicit = alpha_implicit
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.init_std = init_std
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.clip = clip
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.client = client

    def _local_params(self) -> dict:
        params = self.get_params(deep=False)
        del params["client"]
        return params

    def _check_supported(self) -> None:
        for name, reason in _UNSUPPORTED.items():
            if getattr(self, name):
                raise ValueError(
                    f"DaskMatrixFactorization does not support {name}="
                    f"{getattr(self, name)!r} ({reason}); use MatrixFactorization."
                )
        for name in MatrixFactorization._count_parameters:
            value = getattr(self, name)
            if isinstance(value, bool):
                raise TypeError(f"{name} must be an int, not a bool; got {value}.")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None) -> "DaskMatrixFactorization":
        """Fit the model to the ratings of Dask collections, on the cluster.

        Parameters
        ----------
        X : dask DataFrame or dask array of shape (n_samples, n_columns)
            One row per rating: user id, item id, then optional numeric side
            features, as for ``MatrixFactorization``.

        y : dask Series or dask array of shape (n_samples,)
            The ratings, in the partitions of ``X`` (a dask array is rechunked to
            them).

        sample_weight : dask Series or dask array of shape (n_samples,), default=None
            Non-negative weight of each rating, in the partitions of ``X``.

        Returns
        -------
        self : DaskMatrixFactorization
            The fitted estimator.
        """
        self._check_supported()
        metadata = _collections.metadata(X)
        partitions = _collections.aligned_partitions(X, y, sample_weight)
        client = self.client if self.client is not None else default_client()
        result = _fit.fit(
            _fit.Placement(client), partitions, self.get_params(deep=False)
        )
        if not result.converged and self.tol is not None:
            warnings.warn(
                f"DaskMatrixFactorization stopped after max_iter={self.max_iter} "
                "epochs before the stopping rule was met; raise max_iter or tol.",
                ConvergenceWarning,
                stacklevel=2,
            )
        state = dataclasses.replace(
            result.state,
            n_features_in=metadata.n_features,
            feature_names_in=metadata.feature_names,
        )
        self.__dict__.update(_state=freeze(state), _history=result.history)
        return self

    def _local_model(self, state) -> MatrixFactorization:
        model = MatrixFactorization(**self._local_params())
        model._install(state)
        return model

    def predict(self, X):
        """Predict the rating of each (user, item) row of the Dask collection ``X``.

        Parameters
        ----------
        X : dask DataFrame or dask array of shape (n_samples, n_columns)
            User ids, item ids and the side features of ``fit``.

        Returns
        -------
        y_pred : dask array of shape (n_samples,)
            The predictions of :meth:`to_local`'s model (unknown ids get its
            fallbacks), computed on the workers.
        """
        check_is_fitted(self)
        return _collections.predictions(X, self._local_model(self._state))

    def to_local(self) -> MatrixFactorization:
        """The fitted model as a :class:`~sklearn_mf.MatrixFactorization`.

        It brings to the client what each user rated in training (kept on the
        workers until now), which ``recommend`` and ``partial_fit`` need: call it
        in the session of the fit, before pickling, and pickle the local model.

        Returns
        -------
        model : MatrixFactorization
            A fitted ``MatrixFactorization`` with this estimator's parameters.
        """
        check_is_fitted(self)
        history = self.__dict__.get("_history")
        if history is None:
            raise ValueError(
                "This DaskMatrixFactorization was unpickled: the training ratings "
                "that to_local() gathers stayed with the cluster of its fit. Call "
                "to_local() before pickling, or fit again."
            )
        client = history[0].client
        state = dataclasses.replace(
            self._state, history=_fit.gathered_history(client, history)
        )
        return self._local_model(state)

    def __getstate__(self) -> dict:
        # A copy: on Python 3.11+ the base class hands over the live __dict__.
        state = dict(super().__getstate__())
        state.pop("_history", None)  # futures of a cluster: not portable
        state["client"] = None  # a connection: an unpickled model uses the default
        return state

    def __sklearn_clone__(self) -> "DaskMatrixFactorization":
        # The client is shared by the clone, not copied (it holds a connection).
        params = self.get_params(deep=False)
        client = params.pop("client")
        return type(self)(**clone(params, safe=False), client=client)
