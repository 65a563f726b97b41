"""``python -m chokepoint`` runs the command line."""

import sys

from chokepoint.cli import main

sys.exit(main())
