"""osu-api-server: the JSON API of an osu! private server's api. subdomain."""

from importlib import metadata

NAME = "osu-api-server"


def version() -> str:
    """The installed package's version (pyproject.toml's)."""
    try:
        return metadata.version(NAME)
    except metadata.PackageNotFoundError:  # (run from a checkout that is not installed)
        return "unknown"
