"""Numba kernels: arrays and scalars in, caller-allocated arrays out.

Kernels trust their input. The Python layer validates everything before calling them,
so that no kernel can index out of bounds or see a non-finite value it did not make.
"""
