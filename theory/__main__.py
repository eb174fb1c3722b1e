"""``python -m theory``: see :mod:`theory._cli`; a closed standard output ends it quietly (:func:`theory.run_cli`)."""

import sys

from ._cli import main
from ._commands import run_cli

sys.exit(run_cli(main))
