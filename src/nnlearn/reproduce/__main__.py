import sys

from nnlearn.cli import main

sys.exit(main(["reproduce", *sys.argv[1:]]))
