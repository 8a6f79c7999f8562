"""Can embedding similarity link a Chinese film title the alias table lacks to its catalog item?

    .venv/bin/python bench/zh/title_linking.py

Embeds 20 well-known Chinese release titles with the multilingual USE (`use`) and looks for the nearest item
vectors of the USE index (index/use; built from the shipped embedding cache if missing). Chinese release titles are
often not translations of the English ones (人鬼情未了 is *Ghost*, 勇敢者游戏 *Jumanji*), so this measures whether
"plus embedding similarity" can stand beside the alias table. Result (2026-11): right item first for 1 of 20, in
the top 3 for 3 of 20, with no similarity threshold separating right from wrong (right ones at 0.31-0.44, wrong
ones up to 0.46): not used; the alias table is the only title link (docs/multilingual.md).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from chatrec.catalog import load_catalog  # noqa: E402
from chatrec.config import Config  # noqa: E402
from chatrec.retrieval.embed import get_embedder  # noqa: E402
from chatrec.retrieval.index import open_or_build  # noqa: E402

PAIRS = {"美丽心灵": "A Beautiful Mind", "勇敢者游戏": "Jumanji", "小鬼当家": "Home Alone", "变相怪杰": "The Mask",
         "人鬼情未了": "Ghost", "当幸福来敲门": "The Pursuit of Happyness", "海上钢琴师": "The Legend of 1900",
         "十二怒汉": "12 Angry Men", "蝴蝶效应": "The Butterfly Effect", "穿条纹睡衣的男孩": "The Boy in the Striped Pajamas",
         "闻香识女人": "Scent of a Woman", "美国队长": "Captain America: The First Avenger", "加菲猫": "Garfield: The Movie",
         "蚁人": "Ant-Man", "教父": "The Godfather", "剪刀手爱德华": "Edward Scissorhands", "楚门的世界": "The Truman Show",
         "黑客帝国": "The Matrix", "死亡诗社": "Dead Poets Society", "大白鲨": "Jaws"}


def main() -> None:
    catalog = load_catalog(ROOT / "data" / "movielens")
    embedder = get_embedder("use")
    index = open_or_build(catalog, embedder, Config(embedder="use", index_dir=str(ROOT / "index" / "use")))
    queries = embedder.encode(list(PAIRS))
    top1 = top3 = 0
    for (zh, en), q in zip(PAIRS.items(), queries):
        sims = index.vectors @ q
        order = np.argsort(-sims)[:3]
        titles = [catalog.items[i].title for i in order]
        top1 += titles[0] == en
        top3 += en in titles
        print(f"{zh:10} {en:34} -> " + "; ".join(f"{catalog.items[i].title} {sims[i]:.2f}" for i in order))
    print(f"right item first: {top1}/{len(PAIRS)}; in the top 3: {top3}/{len(PAIRS)}")


if __name__ == "__main__":
    main()
