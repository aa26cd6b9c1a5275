"""Dask's measure of the distributed fit's objects: the bytes of the arrays they
hold, so that the scheduler places tasks, counts transfers and manages worker
memory by their real size (it sees a dataclass as a few dozen bytes otherwise).
Imported with the package, on the client and on every worker that runs its tasks."""

import dataclasses

from dask.sizeof import sizeof

from .._ratings import SideIndex
from .._state import RatingHistory
from ._blocks import Block
from ._parts import Encoded, Part


def _fields_size(value) -> int:
    return sum(
        sizeof(getattr(value, field.name)) for field in dataclasses.fields(value)
    )


for _type in (Part, Encoded, Block, SideIndex, RatingHistory):
    sizeof.register(_type)(_fields_size)
