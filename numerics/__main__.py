"""``python -m numerics``: see :mod:`numerics._cli`; a closed standard output ends it quietly
(:func:`theory.cli.run_cli`)."""

import sys

import theory

from ._cli import main

sys.exit(theory.cli.run_cli(main))
