"""Numba kernels: arrays and scalars in, caller-allocated arrays out.

Kernels trust their input. The Python layer validates everything before calling them,
so that no kernel can index out of bounds or see a non-finite value it did not make.
They use numpy's error model: a division by zero gives an infinity or a NaN, which the
drivers' checks of every epoch's result turn into a clear error, where Python's model
would raise inside a parallel loop (surfacing as a ``SystemError``).
"""

# The fast-math flags of the floating-point kernels: reassociation lets LLVM
# vectorise the sums over factors (with signed zeros and reciprocals relaxed, as it
# needs for that), contraction fuses multiplies and adds. Not the flags that assume
# no NaN or infinity ("nnan", "ninf") or approximate library functions ("afn"):
# they would buy nothing here and make any check for a non-finite value undefined.
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}
