"""``python -m sklearn_mf demo``: see :mod:`sklearn_mf._cli`."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
