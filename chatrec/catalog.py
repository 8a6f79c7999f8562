"""The item catalog: loading, validation, and title lookup.

Two loaders produce the same `Catalog`:
- `load_movielens(folder)`: MovieLens `movies.csv` + `tags.csv` + `ratings.csv`, plus TMDB overviews when present.
- `load_table(path)`: any CSV or JSONL file with the schema documented in docs/catalog.md
  (id, title, optional year, genres, tags, description, popularity, and any extra scalar metadata).

A malformed row is an error that names the file and line. Nothing is dropped silently: with
`on_error="skip"` bad rows are skipped and each is reported through `Catalog.problems`.
"""
from __future__ import annotations

import csv
import functools
import hashlib
import json
import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chatrec.errors import CatalogError

_YEAR_AT_END = re.compile(r"\s*\((\d{4})(?:[-–]\d{0,4})?\)\s*$")
_TRAILING_ARTICLE = re.compile(
    r"^(?P<body>.+?), (?P<art>The|A|An|Les|La|Le|L'|Il|El|Los|Las|Das|Der|Die|Den|Det|Lo|I|Gli|Un|Une)$"
)
_PAREN = re.compile(r"\s*\(([^()]*)\)")


@dataclass(frozen=True)
class Item:
    item_id: str
    title: str
    year: int | None = None
    genres: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    overview: str = ""
    rating_count: int = 0
    rating_mean: float | None = None
    aliases: tuple[str, ...] = ()
    metadata: tuple[tuple[str, str | int | float | bool], ...] = ()

    @property
    def label(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title

    def text(self) -> str:
        """The text that is embedded: what the item *is* -- genres, tags, overview -- and not its title, so a wish
        ("something with heat and tension") or a named film's content never matches title words ("The Heat",
        "White Heat"). Titles only link what a person typed (`TitleIndex`). An item with no content at all is
        described by its title and year, the only thing known about it."""
        parts = []
        if self.genres:
            parts.append("Genres: " + ", ".join(self.genres) + ".")
        if self.tags:
            parts.append("Tags: " + ", ".join(self.tags) + ".")
        if self.overview:
            parts.append(self.overview)
        return " ".join(parts) if parts else self.label + "."

    def content_hash(self) -> str:
        return hashlib.sha256(self.text().encode("utf-8")).hexdigest()[:16]


def log_scaled(counts: np.ndarray) -> np.ndarray:
    """Counts to a familiarity prior in [0, 1]: log(1 + count) / log(1 + the largest count); all zeros stay zero."""
    counts = np.asarray(counts, dtype=np.float64)
    top = float(counts.max()) if counts.size else 0.0
    return (np.log1p(counts) / math.log1p(top)).astype(np.float32) if top > 0 else counts.astype(np.float32)


class Catalog:
    def __init__(self, items: list[Item], name: str = "catalog", problems: list[str] | None = None):
        if not items:
            raise CatalogError(f"catalog {name!r} has no items")
        self.name = name
        self.items = items
        self.problems = problems or []
        self.index_of = {it.item_id: i for i, it in enumerate(items)}
        self.genres = sorted({g for it in items for g in it.genres})
        # log-scaled popularity in [0, 1]; a prior, not a ranking
        self.popularity = log_scaled(np.array([it.rating_count for it in items], dtype=np.float64)).tolist()
        years = [it.year for it in items if it.year]
        self.max_year = max(years) if years else None
        self.min_year = min(years) if years else None
        self.titles = TitleIndex(items, self.popularity)

    def set_popularity(self, popularity) -> None:
        """Replace the familiarity prior (log-scaled, in [0, 1]) where the catalog reads it: a protocol whose audience
        is not the catalog's raters measures it its own way (the ReDial catalog: mentions in training dialogues).
        A title several films share then links to the one this audience knows best."""
        self.popularity = [float(x) for x in popularity]
        self.titles.order_by(self.popularity)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, item_id: str) -> Item:
        return self.items[self.index_of[item_id]]

    def get(self, item_id: str) -> Item | None:
        i = self.index_of.get(str(item_id))
        return None if i is None else self.items[i]

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for it in self.items:
            h.update(it.item_id.encode())
            h.update(it.content_hash().encode())
        return h.hexdigest()[:20]


def quality_prior(catalog: Catalog, prior_strength: float = 20.0) -> np.ndarray:
    """Per item, in [-1, 1]: the Bayesian-average rating, (shrunk mean - 3) / 2 -- a 5.0 from two people counts for
    less than a 4.3 from two hundred. Items nobody rated sit at the catalog's mean."""
    counts = np.array([it.rating_count for it in catalog.items], dtype=np.float32)
    means = np.array([it.rating_mean or 0.0 for it in catalog.items], dtype=np.float32)
    global_mean = float((means * counts).sum() / counts.sum()) if counts.sum() else 3.0
    shrunk = (means * counts + global_mean * prior_strength) / (counts + prior_strength)
    return ((shrunk - 3.0) / 2.0).astype(np.float32)


# ---------------------------------------------------------------- title lookup

_NOT_WORD = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


@functools.lru_cache(maxsize=8192)  # the same item fields are normalised again for every reply that shows the item
def normalize_title(text: str) -> str:
    """Lower case, accents and punctuation removed, '&' spelled out, whitespace collapsed."""
    if not text.isascii():  # nothing to strip from ASCII; the per-character pass is most of the cost
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.lower().replace("&", " and ")
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", text)).strip()


def clean_movielens_title(raw: str) -> tuple[str, int | None, tuple[str, ...]]:
    """'Matrix, The (1999)' -> ('The Matrix', 1999, ()); 'Seven (a.k.a. Se7en) (1995)' -> ('Seven', 1995, ('Se7en',))."""
    raw = raw.strip()
    year = None
    m = _YEAR_AT_END.search(raw)
    if m:
        year = int(m.group(1))
        raw = raw[: m.start()].strip()
    aliases = []
    for inner in _PAREN.findall(raw):
        inner = re.sub(r"^(a\.k\.a\.|aka)\s+", "", inner.strip(), flags=re.I)
        if inner:
            aliases.append(_front_article(inner))
    main = _PAREN.sub("", raw).strip() or raw
    return _front_article(main), year, tuple(a for a in aliases if a)


def _front_article(title: str) -> str:
    m = _TRAILING_ARTICLE.match(title.strip())
    if not m:
        return title.strip()
    art = m.group("art")
    return f"{art}{m.group('body')}" if art.endswith("'") else f"{art} {m.group('body')}"


_ARTICLES = ("the ", "a ", "an ")


class TitleIndex:
    """Normalised title (and alias) -> item positions, most popular first (the catalog's familiarity prior; the
    rating counts without one): "It" or "Jumanji" alone link to the film people know best."""

    def __init__(self, items: list[Item], popularity=None):
        keys: dict[str, list[int]] = defaultdict(list)
        for i, it in enumerate(items):
            for name in (it.title, *it.aliases):
                norm = normalize_title(name)
                if not norm:
                    continue
                forms = {norm}
                for art in _ARTICLES:
                    if norm.startswith(art) and len(norm) > len(art) + 2:
                        forms.add(norm[len(art):])
                for form in forms:
                    if i not in keys[form]:
                        keys[form].append(i)
        self.keys = dict(keys)
        self.max_words = max((len(k.split()) for k in self.keys), default=1)
        self._choices = list(self.keys)
        self._counts = [it.rating_count for it in items]
        self.order_by(popularity if popularity is not None else self._counts)

    def order_by(self, popularity) -> None:
        """Sort every title's films by `popularity` (one number per catalog position), most popular first; ties
        go to the more rated."""
        for positions in self.keys.values():
            positions.sort(key=lambda p: (-popularity[p], -self._counts[p]))

    def exact(self, text: str) -> list[int]:
        return self.keys.get(normalize_title(text), [])

    def fuzzy(self, text: str, cutoff: float = 80.0) -> list[int]:
        from rapidfuzz import fuzz, process

        norm = normalize_title(text)
        if len(norm) < 4:
            return []
        hit = process.extractOne(norm, self._choices, scorer=fuzz.ratio, score_cutoff=cutoff)
        return self.keys[hit[0]] if hit else []


# ---------------------------------------------------------------- loaders

def load_catalog(path: str | Path, on_error: str = "raise") -> Catalog:
    """Load a MovieLens folder or a CSV / JSONL catalog file."""
    p = Path(path)
    if not p.exists():
        raise CatalogError(f"catalog not found: {p}")
    if p.is_dir():
        if (p / "movies.csv").exists():
            return load_movielens(p, on_error=on_error)
        raise CatalogError(f"{p} is a folder without movies.csv; give a MovieLens folder or a .csv/.jsonl file")
    return load_table(p, on_error=on_error)


def _split_list(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(v.strip() for v in re.split(r"[|;]", str(value)) if v.strip())


def _read_csv(path: Path):
    """Yield (line_number, row dict); line numbers are those a text editor shows."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames:
            raise CatalogError(f"{path}: empty file or no header row")
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise CatalogError(f"{path}:{line}: unreadable CSV row ({exc})") from None
            yield line, row


def load_movielens(folder: str | Path, on_error: str = "raise") -> Catalog:
    folder = Path(folder)
    problems: list[str] = []

    def bad(msg: str):
        if on_error == "raise":
            raise CatalogError(msg)
        problems.append(msg)

    counts: Counter = Counter()
    sums: Counter = Counter()
    if (folder / "ratings.csv").exists():
        for line, row in _read_csv(folder / "ratings.csv"):
            try:
                mid, rating = row["movieId"], float(row["rating"])
            except (KeyError, TypeError, ValueError):
                bad(f"{folder / 'ratings.csv'}:{line}: expected movieId and a numeric rating")
                continue
            counts[mid] += 1
            sums[mid] += rating

    tag_counts: dict[str, Counter] = defaultdict(Counter)
    if (folder / "tags.csv").exists():
        for line, row in _read_csv(folder / "tags.csv"):
            tag = (row.get("tag") or "").strip().lower()
            if row.get("movieId") and tag:
                tag_counts[row["movieId"]][tag] += 1

    overviews: dict[str, str] = {}
    for candidate in (folder / "overviews.csv", folder.parent / "tmdb" / "ml_latest_small_overviews.csv"):
        if candidate.exists():
            for _, row in _read_csv(candidate):
                if row.get("movieId") and row.get("overview"):
                    overviews[row["movieId"]] = row["overview"].strip()
            break

    items: list[Item] = []
    seen: set[str] = set()
    for line, row in _read_csv(folder / "movies.csv"):
        mid, raw_title = (row.get("movieId") or "").strip(), (row.get("title") or "").strip()
        if not mid or not raw_title:
            bad(f"{folder / 'movies.csv'}:{line}: missing movieId or title")
            continue
        if mid in seen:
            bad(f"{folder / 'movies.csv'}:{line}: duplicate movieId {mid}")
            continue
        seen.add(mid)
        title, year, aliases = clean_movielens_title(raw_title)
        genres = tuple(g for g in _split_list(row.get("genres")) if g != "(no genres listed)")
        tags = tuple(t for t, _ in tag_counts[mid].most_common(8))
        n = counts[mid]
        items.append(
            Item(
                item_id=mid,
                title=title,
                year=year,
                genres=genres,
                tags=tags,
                overview=overviews.get(mid, ""),
                rating_count=n,
                rating_mean=round(sums[mid] / n, 3) if n else None,
                aliases=aliases,
            )
        )
    return Catalog(items, name=f"movielens:{folder.name}", problems=problems)


_CORE_FIELDS = {"id", "item_id", "title", "year", "genres", "tags", "description", "overview", "text",
                "popularity", "rating_count", "rating_mean", "aliases"}


def load_table(path: str | Path, on_error: str = "raise") -> Catalog:
    """Load a generic CSV or JSONL catalog (schema: docs/catalog.md)."""
    path = Path(path)
    problems: list[str] = []
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = _read_jsonl(path)
    elif path.suffix.lower() == ".csv":
        rows = _read_csv(path)
    else:
        raise CatalogError(f"{path}: unsupported catalog format (use .csv, .jsonl or a MovieLens folder)")
    items: list[Item] = []
    seen: set[str] = set()
    for line, row in rows:
        try:
            item = _row_to_item(row)
            if item.item_id in seen:
                raise ValueError(f"duplicate id {item.item_id!r}")
            seen.add(item.item_id)
            items.append(item)
        except ValueError as exc:
            msg = f"{path}:{line}: {exc}"
            if on_error == "raise":
                raise CatalogError(msg) from None
            problems.append(msg)
    return Catalog(items, name=path.stem, problems=problems)


def _read_jsonl(path: Path):
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CatalogError(f"{path}:{line_no}: invalid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise CatalogError(f"{path}:{line_no}: expected a JSON object per line")
            yield line_no, row


def _row_to_item(row: dict) -> Item:
    item_id = str(row.get("id", row.get("item_id")) or "").strip()
    title = str(row.get("title") or "").strip()
    if not item_id:
        raise ValueError("missing id")
    if not title:
        raise ValueError("missing title")
    year = row.get("year")
    if year in (None, ""):
        year = None
    else:
        try:
            year = int(float(year))
        except (TypeError, ValueError):
            raise ValueError(f"year {year!r} is not a number") from None
    def number(key, cast):
        value = row.get(key)
        if value in (None, ""):
            return None
        try:
            return cast(float(value))
        except (TypeError, ValueError):
            raise ValueError(f"{key} {value!r} is not a number") from None
    count = number("rating_count", int)
    if count is None:
        count = number("popularity", int) or 0
    metadata = tuple(
        sorted((k, v) for k, v in row.items()
               if k not in _CORE_FIELDS and isinstance(v, (str, int, float, bool)) and v != "")
    )
    return Item(
        item_id=item_id,
        title=title,
        year=year,
        genres=_split_list(row.get("genres")),
        tags=_split_list(row.get("tags")),
        overview=str(row.get("description") or row.get("overview") or row.get("text") or "").strip(),
        rating_count=count,
        rating_mean=number("rating_mean", float),
        aliases=_split_list(row.get("aliases")),
        metadata=metadata,
    )
