"""`python -m posthouse` runs the CLI."""

from posthouse.cli.app import main

if __name__ == "__main__":
    main()
