"""Builds data/redial/redial_to_ml_latest_small_heuristic.csv: ReDial movieId -> ml-latest-small movieId.

    .venv/bin/python scripts/match_redial_to_ml_small.py [--check]

A heuristic match by normalized title (+ year), NOT the ReDial authors' mapping (their scripts/match_movies.py
matched against the full ml-latest of 2017; its output was not published). A ReDial name with a year matches the
MovieLens film of the same normalized title and year ("title+year"); one without a year matches only a title that
exactly one MovieLens film has ("title-only-unique"); everything else is "none". 4,041 of the 6,924 ReDial films
match, covering 81.8% of their mentions; a few matches may be wrong.

Provenance: this is the script that built the shipped file (it lay beside the ReDial data it was run on, see
data/redial/SOURCE.md); only its paths changed, to the repository's layout (data/movielens/movies.csv and
data/redial/). The matching is unchanged: `--check` rebuilds the table in memory and exits 1 unless it is
byte-identical to the shipped file. Nothing is downloaded.
"""
import argparse
import csv
import io
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MOVIES = ROOT / "data" / "movielens" / "movies.csv"  # ml-latest-small, as bundled
REDIAL = ROOT / "data" / "redial" / "movies_with_mentions.csv"
OUT = ROOT / "data" / "redial" / "redial_to_ml_latest_small_heuristic.csv"


def norm(t):
    t = unicodedata.normalize('NFKD', t).encode('ascii', 'ignore').decode().lower().strip()
    m = re.match(r'^(.*?)\s*\((\d{4})\)\s*$', t)
    year = None
    if m:
        t, year = m.group(1), m.group(2)
    t = re.sub(r'\(.*?\)', '', t).strip()
    m2 = re.match(r'^(.*),\s*(the|a|an|les|la|le|il|i|el|der|die|das)$', t)
    if m2:
        t = m2.group(2) + ' ' + m2.group(1)
    return ' '.join(re.sub(r'[^a-z0-9 ]', ' ', t).split()), year


def build(f) -> None:
    """Writes the table (CSV, \\r\\n line ends as csv.writer writes them) to the open text file `f`."""
    ml, ml_noyear = {}, {}
    with open(MOVIES, newline='', encoding='utf-8') as movies:
        for r in csv.DictReader(movies):
            k = norm(r['title'])
            ml.setdefault(k, []).append((r['movieId'], r['title']))
    for (t, y), v in ml.items():
        ml_noyear.setdefault(t, []).extend(v)
    w = csv.writer(f)
    w.writerow(['redialId', 'redialName', 'nbMentions', 'mlMovieId', 'mlTitle', 'match'])
    with open(REDIAL, newline='', encoding='utf-8') as redial:
        for r in csv.DictReader(redial):
            t, y = norm(r['movieName'])
            if y and (t, y) in ml:
                mid, mt = ml[(t, y)][0]
                how = 'title+year'
            elif not y and len(ml_noyear.get(t, [])) == 1:
                mid, mt = ml_noyear[t][0]
                how = 'title-only-unique'
            else:
                mid, mt, how = '', '', 'none'
            w.writerow([r['movieId'], r['movieName'], r['nbMentions'], mid, mt, how])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="Rebuild in memory; exit 1 unless equal to the shipped file.")
    args = ap.parse_args()
    if args.check:
        buf = io.StringIO(newline='')
        build(buf)
        same = buf.getvalue().encode('utf-8') == OUT.read_bytes()
        print(f"{OUT.relative_to(ROOT)}: {'identical' if same else 'DIFFERS from a rebuild'}")
        return 0 if same else 1
    with open(OUT, 'w', newline='', encoding='utf-8') as f:
        build(f)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
