"""``python -m theory``: see :mod:`theory._main`; a closed standard output ends it quietly (:func:`theory.cli.run_cli`)."""

import sys

from ._main import main
from .cli import run_cli

sys.exit(run_cli(main))
