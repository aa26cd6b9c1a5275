"""Validation helpers, thread control and the private scikit-learn imports."""
