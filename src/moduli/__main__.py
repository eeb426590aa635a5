"""``python -m moduli``: the ``moduli`` command."""
import sys

from moduli.cli import main

sys.exit(main())
