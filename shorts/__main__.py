"""``python -m shorts`` is the ``shorts`` command."""

import sys

from shorts.cli import main

sys.exit(main())
