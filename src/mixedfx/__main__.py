"""``python -m mixedfx``: the same as the ``mixedfx`` command."""

import sys

from mixedfx.cli import main

sys.exit(main())
