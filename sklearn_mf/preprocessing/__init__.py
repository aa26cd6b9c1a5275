"""Preparing rating rows for the estimators."""

from ._attributes import AttributeJoiner

__all__ = ["AttributeJoiner"]
