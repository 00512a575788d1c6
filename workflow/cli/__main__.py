"""`python -m workflow.cli`: the zcflow command."""

from workflow.cli import main

main()
