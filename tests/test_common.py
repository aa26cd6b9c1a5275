"""scikit-learn's own estimator checks, run on every solver."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_mf import BayesianMatrixFactorization, MatrixFactorization

# SGD visits ratings in a random order, so an integer weight equals repeated rows only
# in expectation, not to the 1e-7 tolerance this check asks for. ALS solves exactly
# and CG (deterministic arithmetic on the same normal equations) pass it.
_SGD_EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": (
        "SGD's random visiting order makes weights equal repetitions only in "
        "expectation"
    ),
}


def _expected_failed_checks(estimator):
    if getattr(estimator, "solver", None) == "sgd":
        return _SGD_EXPECTED_FAILURES
    return {}


@parametrize_with_checks(
    [
        MatrixFactorization(random_state=0),
        MatrixFactorization(solver="als", random_state=0),
        MatrixFactorization(solver="sgd", random_state=0),
        MatrixFactorization(implicit_feedback="both", random_state=0),
        MatrixFactorization(feature_factors=True, random_state=0),
        MatrixFactorization(solver="sgd", implicit_feedback=True, random_state=0),
        BayesianMatrixFactorization(n_iter=20, burn_in=5, random_state=0),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
