import sys

from gloomon.cli import main

sys.exit(main())
