"""A prefetch hint for the kernels: ask the CPU to start fetching a matrix row."""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

# Cache line size in bytes of x86-64 and of most ARM cores; a row is hinted one line
# at a time.
_LINE_BYTES = 64


@intrinsic
def prefetch_row(typingctx, matrix, row):
    """Hint that ``matrix[row]`` (a 2-D array with contiguous rows) will be read soon.

    Emits LLVM's ``prefetch`` (read, keep in all cache levels) for each cache line of
    the row; the CPU fetches them while the caller's arithmetic goes on. A hint has
    no effect on results and never faults, whatever the address.
    """
    if not (
        isinstance(matrix, types.Array)
        and matrix.ndim == 2
        and isinstance(row, types.Integer)
    ):
        return None
    signature = types.void(matrix, row)

    def codegen(context, builder, signature, args):
        matrix_type, row_type = signature.args
        array = context.make_array(matrix_type)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        row_index = context.cast(builder, args[1], row_type, types.intp)
        first = cgutils.get_item_pointer(
            context, builder, matrix_type, array, [row_index, zero], wraparound=False
        )
        item_bytes = context.get_abi_sizeof(context.get_data_type(matrix_type.dtype))
        row_bytes = builder.mul(
            builder.extract_value(array.shape, 1),
            context.get_constant(types.intp, item_bytes),
        )
        byte_pointer = ir.IntType(8).as_pointer()
        start = builder.bitcast(first, byte_pointer)
        int32 = ir.IntType(32)
        # declare_intrinsic mangles the name for llvmlite's pointer type (numba's
        # older LLVMs take only that name; newer ones upgrade it).
        hint = builder.module.declare_intrinsic(
            "llvm.prefetch",
            [byte_pointer],
            ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]),
        )
        line = context.get_constant(types.intp, _LINE_BYTES)
        with cgutils.for_range_slice(builder, zero, row_bytes, line) as (offset, _):
            # read (0), keep in every cache level (3), data not instructions (1)
            builder.call(
                hint, [builder.gep(start, [offset]), int32(0), int32(3), int32(1)]
            )
        return context.get_dummy_value()

    return signature, codegen
