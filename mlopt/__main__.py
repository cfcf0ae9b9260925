import sys

from mlopt.cli import main

sys.exit(main())
