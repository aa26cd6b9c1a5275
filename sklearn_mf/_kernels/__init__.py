"""Numba kernels: arrays and scalars in, caller-allocated arrays out.

Kernels trust their input. The Python layer validates everything before calling them,
so that no kernel can index out of bounds or see a non-finite value it did not make.
"""

# The fast-math flags of the floating-point kernels: reassociation lets LLVM
# vectorise the sums over factors (with signed zeros and reciprocals relaxed, as it
# needs for that), contraction fuses multiplies and adds. Not the flags that assume
# no NaN or infinity ("nnan", "ninf") or approximate library functions ("afn"):
# they would buy nothing here and make any check for a non-finite value undefined.
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}
