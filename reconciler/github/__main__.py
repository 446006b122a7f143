"""``python -m reconciler.github``: the ``reconcile github`` commands without the main CLI."""

from reconciler.github.command import main

main()
