"""``python -m nnlearn``: the ``nnlearn`` command line (:func:`nnlearn.cli.main`)."""

import sys

from nnlearn.cli import main

sys.exit(main())
