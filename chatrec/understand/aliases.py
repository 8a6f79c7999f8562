"""The shipped alias table (data/movielens/aliases_zh.csv, built by scripts/build_aliases_zh.py from
vocab/zh_titles.csv and the script's people and series): Chinese and other names of films, and named
collections (a director's films, a series), resolved against a catalog."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from chatrec.catalog import Catalog, normalize_title
from chatrec.config import ROOT
from chatrec.lang import to_simplified

ALIASES_PATH = ROOT / "data" / "movielens" / "aliases_zh.csv"


@dataclass
class Collection:
    """A named set of catalog items: a director's (actor's, studio's) films, or a film series."""
    key: str
    kind: str  # "person" | "series"
    names: list[str]
    items: list[str]


def load_aliases(catalog: Catalog, path: Path | str | None = ALIASES_PATH) -> tuple[dict[str, str], dict[str, Collection]]:
    """(Chinese film title -> item id, collection key -> Collection) from the shipped alias table, kept only where
    the film is in `catalog`: the row's id when that id has the row's title, else the title (and year) looked up."""
    titles: dict[str, str] = {}
    groups: dict[str, Collection] = {}
    if path is None or not Path(path).exists():
        return titles, groups
    by_title: dict[tuple[str, str], str | None] = {}

    def resolve(row) -> str | None:
        key = (row["title"], row.get("year") or "")
        if key in by_title:
            return by_title[key]
        item = catalog.get(row["movie_id"])
        found = None
        if item is not None and normalize_title(item.title) == normalize_title(row["title"]):
            found = item.item_id
        else:
            year = int(row["year"]) if (row.get("year") or "").isdigit() else None
            for name in dict.fromkeys([row["title"], row["title"].split(":")[0]]):
                hits = [p for p in catalog.titles.exact(name) if year is None or catalog.items[p].year in (None, year)]
                if hits:
                    found = catalog.items[hits[0]].item_id
                    break
        by_title[key] = found
        return found

    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            item_id = resolve(row)
            if item_id is None:
                continue
            names = list(dict.fromkeys(to_simplified(n) for n in row["zh"].split("|") + row["en"].split("|") if n.strip()))
            if row["kind"] == "title":
                for name in names:
                    titles.setdefault(name, item_id)
                continue
            group = groups.setdefault(row["key"], Collection(row["key"], row["kind"], names, []))
            if item_id not in group.items:
                group.items.append(item_id)
    return titles, groups
