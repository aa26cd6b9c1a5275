"""A method that only some parameter settings provide, with the reason when absent."""

from types import MethodType


class available_if:  # noqa: N801 (used as a decorator, like scikit-learn's)
    """Make a method available only when ``check(estimator)`` does not raise.

    Like :func:`sklearn.utils.metaestimators.available_if`, so that
    ``hasattr(estimator, name)`` tells whether the method can be called, but the
    ``AttributeError`` that ``check`` raises reaches the caller with its message
    (scikit-learn's replaces it by a generic one).
    """

    def __init__(self, check):
        self.check = check

    def __call__(self, method):
        self.method = method
        self.__doc__ = method.__doc__
        return self

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, estimator, owner=None):
        if estimator is None:
            return self.method
        self.check(estimator)
        return MethodType(self.method, estimator)
