"""Stochastic gradient descent over shuffled ratings (Funk/Koren SVD, as in Surprise)."""

import numpy as np

from .._kernels._sgd import cell_layout, deal_runs, sgd_epoch
from .._kernels._types import Penalty, ShuffledRatings, Side
from .._ratings import RatingData, position_dtype
from ..utils._random import SEED_MAX
from ..utils._threads import threads_for
from ._model import FactorModel, penalty
from ._options import SolverOptions

# Users and items are each split into this many blocks. It is fixed, not tied to
# n_jobs, so that the schedule and hence the result are the same for any thread count;
# 8 diagonals of 8 disjoint cells keep 2 to 8 threads busy.
N_BLOCKS = 8


# Rows are assigned to blocks in runs of up to this many consecutive rows, and, when
# there are enough rows, in about this many runs per block (see _random_blocks).
MAX_RUN = 64
RUNS_PER_BLOCK = 8

# A cell's ratings are visited in chunks of at most this many, in a new order every
# epoch: the order varies from epoch to epoch while each chunk is read in storage
# order.
CHUNK_SIZE = 1024


def _random_blocks(
    row_ratings: np.ndarray, random_state: np.random.RandomState
) -> np.ndarray:
    """Each row's block: runs of consecutive rows, the runs dealt in random order,
    each to the block with the fewest ratings so far (``row_ratings`` per row).

    Runs, not single rows, so that the rows two threads update at once lie apart in
    memory: with rows dealt one by one, a cache line holds rows of several blocks
    and bounces between the threads' cores on every step (false sharing; with 10
    float32 factors a row is 40 bytes, a bias 4). Runs are shorter on few rows, so
    that there are about ``RUNS_PER_BLOCK * N_BLOCKS`` of them in all (below that
    many rows, runs are single rows). Dealt by ratings, so that the blocks,
    and with them the cells that threads run side by side between two
    synchronisations, hold about as many ratings each.
    """
    n_rows = row_ratings.shape[0]
    run = max(1, min(MAX_RUN, n_rows // (RUNS_PER_BLOCK * N_BLOCKS)))
    run_ratings = np.add.reduceat(row_ratings, np.arange(0, n_rows, run))
    run_block = deal_runs(
        run_ratings.astype(np.int64),
        random_state.permutation(run_ratings.shape[0]),
        N_BLOCKS,
    )
    return np.repeat(run_block, run)[:n_rows]


def _chunks(cell_ptr: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut each cell ``cell_ptr[c]:cell_ptr[c + 1]`` into chunks of equal length (up
    to one), at most ``size``: ``(chunk_ptr, cell_chunk_ptr)``, as ``sgd_epoch``
    reads them."""
    lengths = np.diff(cell_ptr)
    n_chunks = -(-lengths // size)
    cell_chunk_ptr = np.zeros(lengths.shape[0] + 1, dtype=np.int64)
    np.cumsum(n_chunks, out=cell_chunk_ptr[1:])
    cell = np.repeat(np.arange(lengths.shape[0]), n_chunks)
    rank = np.arange(cell_chunk_ptr[-1]) - cell_chunk_ptr[cell]
    starts = cell_ptr[cell] + rank * lengths[cell] // n_chunks[cell]
    return np.append(starts, cell_ptr[-1]).astype(np.int64), cell_chunk_ptr


class SGDSolver:
    """One epoch visits every training rating once, in an order drawn afresh.

    Users and items are assigned to ``N_BLOCKS`` random blocks each (in runs of
    consecutive rows); an epoch walks the block diagonals in random order, the cells
    of a diagonal in parallel, and the ratings of a cell, stored in an order
    shuffled once, chunk by chunk in random order, each chunk from a random point
    (see :mod:`sklearn_mf._kernels._sgd`).
    The model is stored in float32 during training.
    """

    dtype = np.float32

    def __init__(self, data: RatingData, options: SolverOptions):
        if options.implicit_sides or options.attributes is not None:
            raise ValueError("SGDSolver fits neither implicit nor attribute terms.")
        if options.learning_rate is None or options.cg_steps is not None:
            raise ValueError("SGDSolver takes a learning_rate and no cg_steps.")
        self.data = data
        self.alpha = options.alpha
        self.alpha_bias = options.alpha_bias
        self.fit_bias = options.fit_bias
        self.learning_rate = options.learning_rate
        self.random_state = random_state = np.random.RandomState(options.order_seed)
        by_user = data.by_user
        user_block = _random_blocks(np.diff(by_user.indptr), random_state)
        item_block = _random_blocks(
            np.bincount(by_user.other, minlength=data.n_items), random_state
        )
        # Ratings grouped by cell, each cell's in an order shuffled once, drawn from
        # the cell's ratings sorted by user and item, so that it does not depend on
        # the order of the rows. The layout starts from the ratings grouped by
        # user, which the fitted model keeps: the fit builds that index once.
        n = data.n_ratings
        self._ratings = ShuffledRatings(
            np.empty(n, dtype=np.int32),
            np.empty(n, dtype=by_user.other.dtype),
            np.empty(n, dtype=np.float32),
            np.empty(n, dtype=np.float32),
            np.empty((n, 0), dtype=np.float32),
        )
        positions = np.empty(n, dtype=position_dtype(n))
        # A rating whose weight is negligible next to others' can stand far out of
        # the standardised range: its target becomes inf in float32, but its weight
        # becomes 0, and the kernel skips ratings of weight 0.
        cell_ptr = cell_layout(
            by_user.indptr,
            by_user.other,
            by_user.target,
            by_user.weight,
            user_block,
            item_block,
            N_BLOCKS,
            np.uint64(random_state.randint(SEED_MAX)),
            self._ratings,
            positions,
        )
        if data.features.shape[1]:
            features = data.features[by_user.order[positions]].astype(np.float32)
            self._ratings = self._ratings._replace(features=features)
        self._chunk_ptr, self._cell_chunk_ptr = _chunks(cell_ptr, CHUNK_SIZE)
        self._chunk_visit = np.empty(self._chunk_ptr.shape[0] - 1, dtype=np.int64)
        self._penalty = Penalty(self.alpha, self.alpha_bias, self.fit_bias)

    def full_vectors(self, model: FactorModel) -> tuple[np.ndarray, np.ndarray]:
        """The vectors whose dot products make the predictions (no implicit terms)."""
        return model.user_factors, model.item_factors

    def epoch(self, model: FactorModel) -> float:
        """Run one epoch on ``model`` (float32) and return the epoch's loss.

        The loss is the weighted squared error met during the epoch, each rating's
        taken just before its step (as scikit-learn's SGD estimators report), plus the
        penalty at the end of the epoch, divided by the total weight. Computing the
        exact objective would cost another pass over the ratings.
        """
        diagonal_order = self.random_state.permutation(N_BLOCKS).astype(np.int64)
        seed = np.uint64(self.random_state.randint(SEED_MAX))
        with threads_for(self.data.n_ratings):
            squared_error = sgd_epoch(
                self._cell_chunk_ptr,
                self._chunk_ptr,
                diagonal_order,
                seed,
                self._chunk_visit,
                self._ratings,
                self.learning_rate,
                self._penalty,
                Side(model.user_bias, model.user_factors),
                Side(model.item_bias, model.item_factors),
                model.coef,
            )
        data = self.data
        return float(
            (squared_error + penalty(model, data, self.alpha, self.alpha_bias))
            / data.total_weight
        )
