"""``python -m shopshield`` runs the CLI."""

from shopshield.cli import main

main()
