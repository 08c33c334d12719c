"""Entry point: ``python -m training SUBCOMMAND``."""

import sys

from .cli import main

sys.exit(main())
