"""``python -m checks``: see :func:`checks.main`."""

import sys

from . import main

sys.exit(main(sys.argv[1:]))
