"""``python -m designer`` runs the same CLI as the ``designer`` command."""

from designer.cli import main

main()
