"""Settings come from environment variables only; see the README's table."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping


@dataclass(frozen=True)
class Settings:
    database_url: str
    host: str
    port: int
    data_dir: Path
    # load the demo data set when the embedded database starts out empty
    demo_on_empty: bool

    @property
    def replays_dir(self) -> Path:
        return self.data_dir / "osr"

    @property
    def avatars_dir(self) -> Path:
        return self.data_dir / "avatars"

    @property
    def beatmaps_dir(self) -> Path:
        return self.data_dir / "osu"

    @property
    def is_embedded(self) -> bool:
        return self.database_url.startswith("sqlite")


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def load_settings(env: Mapping[str, str] = os.environ) -> Settings:
    data_dir = Path(env.get("DATA_DIR", "data")).resolve()
    database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'api.db'}"
    try:
        port = int(env.get("PORT", "8000"))
    except ValueError:
        raise SystemExit(f"PORT must be a number, not {env['PORT']!r}") from None
    return Settings(
        database_url=database_url,
        host=env.get("HOST", "127.0.0.1"),
        port=port,
        data_dir=data_dir,
        demo_on_empty=_flag(env.get("DEMO_ON_EMPTY", "1")),
    )
