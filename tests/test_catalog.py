import json

import pytest

from chatrec.catalog import clean_movielens_title, load_catalog, load_table, normalize_title
from chatrec.config import ROOT
from chatrec.errors import CatalogError
from conftest import TINY


def test_movielens_titles_are_cleaned():
    assert clean_movielens_title("Matrix, The (1999)") == ("The Matrix", 1999, ())
    assert clean_movielens_title("Seven (a.k.a. Se7en) (1995)") == ("Seven", 1995, ("Se7en",))
    title, year, aliases = clean_movielens_title("City of Lost Children, The (Cité des enfants perdus, La) (1995)")
    assert (title, year) == ("The City of Lost Children", 1995)
    assert aliases == ("La Cité des enfants perdus",)
    assert clean_movielens_title("Untitled") == ("Untitled", None, ())


def test_bundled_movielens_catalog_has_every_field():
    cat = load_catalog(ROOT / "data" / "movielens")
    assert len(cat) == 9742
    toy = cat["1"]
    assert toy.title == "Toy Story" and toy.year == 1995
    assert "Animation" in toy.genres and toy.overview.startswith("Led by Woody")
    assert toy.rating_count == 215 and 3.5 < toy.rating_mean < 4.5
    assert toy.tags  # from tags.csv
    assert "(no genres listed)" not in cat.genres
    assert cat.titles.exact("the matrix") and cat.titles.exact("Matrix")


def test_generic_jsonl_and_csv_catalogs(tmp_path):
    cat = load_table(TINY)
    assert len(cat) == 42 and cat["1"].title == "Alien" and cat["1"].genres == ("Horror", "Sci-Fi")
    csv_path = tmp_path / "products.csv"
    csv_path.write_text("id,title,genres,description,price,brand\n"
                        "p1,Trail shoe,Running|Outdoor,Light shoe for trails,89.5,Acme\n"
                        "p2,Road shoe,Running,Cushioned shoe for roads,,Acme\n")
    products = load_table(csv_path)
    assert products["p1"].genres == ("Running", "Outdoor")
    assert dict(products["p1"].metadata) == {"brand": "Acme", "price": "89.5"}


def test_malformed_rows_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "a", "title": "Fine"}) + "\n" + json.dumps({"id": "b"}) + "\n"
                   + json.dumps({"id": "c", "title": "Bad year", "year": "soon"}) + "\n")
    with pytest.raises(CatalogError, match=r"bad\.jsonl:2: missing title"):
        load_table(bad)
    cat = load_table(bad, on_error="skip")
    assert [it.item_id for it in cat.items] == ["a"]
    assert any(":2:" in p for p in cat.problems) and any(":3:" in p and "year" in p for p in cat.problems)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "a", "title": "x"}\n{not json\n')
    with pytest.raises(CatalogError, match=r"broken\.jsonl:2: invalid JSON"):
        load_table(broken)
    dup = tmp_path / "dup.csv"
    dup.write_text("id,title\n1,A\n1,B\n")
    with pytest.raises(CatalogError, match=r"dup\.csv:3: duplicate id"):
        load_table(dup)


def test_missing_catalog_is_a_clear_error(tmp_path):
    with pytest.raises(CatalogError, match="not found"):
        load_catalog(tmp_path / "nope.csv")
    with pytest.raises(CatalogError, match="no items"):
        (tmp_path / "empty.jsonl").write_text("")
        load_table(tmp_path / "empty.jsonl")


def test_fingerprint_tracks_content(tmp_path):
    a = load_table(TINY)
    lines = TINY.read_text().splitlines()
    row = json.loads(lines[0]); row["description"] += " Changed."
    changed = tmp_path / "changed.jsonl"
    changed.write_text("\n".join([json.dumps(row)] + lines[1:]) + "\n")
    assert load_table(changed).fingerprint() != a.fingerprint()
    assert load_table(TINY).fingerprint() == a.fingerprint()


def test_normalize_title():
    assert normalize_title("  WALL·E & Eve!! ") == "wall e and eve"
    assert normalize_title("Amélie") == "amelie"


def test_a_shared_title_links_to_the_film_the_catalogs_audience_knows_best():
    from chatrec.catalog import Catalog, Item

    old = Item("1", "It", 1990, ("Horror",), rating_count=40)
    new = Item("2", "It", 2017, ("Horror",), rating_count=25)
    other = Item("3", "Heat", 1995, ("Crime",), rating_count=10)
    cat = Catalog([old, new, other])
    assert cat.titles.exact("it") == [0, 1]  # by rating count without another measure
    cat.set_popularity([0.2, 0.9, 0.5])  # e.g. how often dialogues of this audience name each film
    assert cat.titles.exact("it") == [1, 0] and cat.popularity == [0.2, 0.9, 0.5]
    cat.set_popularity([0.0, 0.0, 0.5])  # a tie goes to the more rated
    assert cat.titles.exact("it") == [0, 1]


def test_log_scaled_popularity_is_one_formula_for_every_audience():
    import math

    from chatrec.catalog import Catalog, Item, log_scaled

    assert log_scaled([0, 1, 3]).tolist() == pytest.approx([0.0, math.log(2) / math.log(4), 1.0])
    assert log_scaled([0, 0]).tolist() == [0.0, 0.0] and log_scaled([]).size == 0
    catalog = Catalog([Item("a", "A", rating_count=0), Item("b", "B", rating_count=1), Item("c", "C", rating_count=3)])
    assert catalog.popularity == pytest.approx(log_scaled([0, 1, 3]).tolist())
