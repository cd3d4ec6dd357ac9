"""``python -m simrec`` is the ``simrec`` command."""

from .cli import main

if __name__ == "__main__":
    main()
