"""``python -m minemap`` is the ``minemap`` command."""

from minemap.cli import main

if __name__ == "__main__":
    main()
