"""``python -m numerics``: see :mod:`numerics._cli`."""

import sys

from ._cli import main

sys.exit(main())
