"""scikit-learn's own estimator checks, run on every solver."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_mf import BayesianMatrixFactorization, MatrixFactorization

# SGD visits ratings in a random order, so an integer weight equals repeated rows only
# in expectation, not to the 1e-7 tolerance this check asks for. ALS solves exactly
# and CG (deterministic arithmetic on the same normal equations) pass it.
_SGD_FAILURE = (
    "SGD's random visiting order makes weights equal repetitions only in expectation"
)
# Weights are relative (divided by their mean, so that scaling them changes nothing).
# Where the model is not homogeneous in the weights, repeating a row then differs
# from doubling its weight: the implicit sums are normalised by the square root of
# their row's weight, and the Bayesian noise precision has a proper prior.
_RELATIVE_WEIGHT_FAILURE = (
    "relative weights: an implicit-feedback sum or the noise prior sees repeated rows "
    "differently from a larger weight"
)


# alpha="auto" chooses the penalty on a random slice of the rows, and the search's
# fit of the rest is where the final fit starts: with repeated rows both differ.
_AUTO_ALPHA_FAILURE = (
    "alpha='auto' holds out a random slice of the rows, which repeated rows change"
)


def _expected_failed_checks(estimator):
    reasons = []
    if getattr(estimator, "solver", None) == "sgd":
        reasons.append(_SGD_FAILURE)
    if estimator.implicit_feedback or not hasattr(estimator, "solver"):
        reasons.append(_RELATIVE_WEIGHT_FAILURE)
    if getattr(estimator, "alpha", None) == "auto":
        reasons.append(_AUTO_ALPHA_FAILURE)
    if not reasons:
        return {}
    return {"check_sample_weight_equivalence_on_dense_data": "; ".join(reasons)}


@parametrize_with_checks(
    [
        MatrixFactorization(random_state=0),
        MatrixFactorization(alpha=0.08, random_state=0),
        MatrixFactorization(solver="als", alpha=0.08, random_state=0),
        MatrixFactorization(solver="sgd", alpha=0.08, random_state=0),
        MatrixFactorization(implicit_feedback="both", alpha=0.08, random_state=0),
        MatrixFactorization(feature_factors=True, alpha=0.08, random_state=0),
        MatrixFactorization(
            solver="sgd", implicit_feedback=True, alpha=0.08, random_state=0
        ),
        BayesianMatrixFactorization(n_iter=20, burn_in=5, random_state=0),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
