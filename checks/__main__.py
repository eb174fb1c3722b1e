"""``python -m checks``: see :func:`checks.main`; a closed standard output (``--list | head``) ends it quietly
(:func:`theory.cli.run_cli`)."""

import sys

import theory

from . import main

sys.exit(theory.cli.run_cli(main, sys.argv[1:]))
