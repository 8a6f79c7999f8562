"""Intent recognition: a message (plus what was last shown) -> a typed, catalog-grounded `Intent`.

Two parsers share one interface, `parse(message, context) -> Intent`:
- `RuleParser`: deterministic keyword, pattern and title matching against the catalog; always available.
- `LLMParser`: asks the LLM for JSON, then trusts nothing it says: the kind must be a known label, a title
  counts only if it links to a catalog item *and* the message really mentions it, genres must be in the
  catalog's vocabulary, years must parse. Junk, errors and timeouts fall back to the rule result.
An unclear message becomes `recommend` with `unclear=True`: the plain recommender answers, never a dead end.
"""
from __future__ import annotations

import csv
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

from chatrec.config import ROOT
from chatrec.catalog import Catalog, normalize_title
from chatrec.lang import to_simplified

KINDS = ("recommend", "refine", "feedback", "ask_about_item", "chitchat", "goodbye")


@dataclass
class Intent:
    kind: str
    liked: list[str] = field(default_factory=list)  # catalog item ids
    disliked: list[str] = field(default_factory=list)
    genres_in: list[str] = field(default_factory=list)
    genres_any: bool = False  # "comedy or drama": any of genres_in will do
    genres_out: list[str] = field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    wish_text: str = ""
    avoid_text: str = ""  # "less gory": a direction to move away from, not a hard filter
    about_item: str | None = None
    refs: list[int] = field(default_factory=list)  # 1-based positions in the last list
    sentiment: str | None = None  # feedback: "like" | "dislike" | "seen"
    critiques: list[str] = field(default_factory=list)  # "older", "newer", "lighter", "darker", "more_like", "less_like", "other"
    collections: list[str] = field(default_factory=list)  # named sets of items: a director's films, a series
    unclear: bool = False
    source: str = "rules"

    def to_json(self, catalog: Catalog) -> dict:
        data = asdict(self)
        data["liked"] = [_ref(catalog, i) for i in self.liked]
        data["disliked"] = [_ref(catalog, i) for i in self.disliked]
        data["about_item"] = _ref(catalog, self.about_item) if self.about_item else None
        return data


def _ref(catalog: Catalog, item_id: str) -> dict:
    item = catalog.get(item_id)
    return {"item_id": item_id, "title": item.title if item else None}


@dataclass
class ParseContext:
    last_items: list[str] = field(default_factory=list)  # item ids of the last list shown, in order


# ------------------------------------------------------------------ vocabulary

# word or phrase -> catalog genre (MovieLens names); other catalogs match their own genre names directly
GENRE_WORDS = {
    "action": "Action", "adventure": "Adventure", "adventures": "Adventure",
    "animation": "Animation", "animated": "Animation", "anime": "Animation", "cartoon": "Animation", "cartoons": "Animation",
    "children": "Children", "kids": "Children", "kid": "Children", "family": "Children", "children's": "Children",
    "comedy": "Comedy", "comedies": "Comedy", "funny": "Comedy", "hilarious": "Comedy", "rom com": "Comedy",
    "crime": "Crime", "gangster": "Crime", "heist": "Crime", "mafia": "Crime",
    "documentary": "Documentary", "documentaries": "Documentary", "docs": "Documentary",
    "drama": "Drama", "dramas": "Drama",
    "fantasy": "Fantasy", "magic": "Fantasy",
    "film noir": "Film-Noir", "noir": "Film-Noir",
    "horror": "Horror", "scary": "Horror", "slasher": "Horror", "gore": "Horror",
    "musical": "Musical", "musicals": "Musical",
    "mystery": "Mystery", "mysteries": "Mystery", "whodunit": "Mystery",
    "romance": "Romance", "romantic": "Romance", "love story": "Romance", "love stories": "Romance",
    "sci fi": "Sci-Fi", "scifi": "Sci-Fi", "science fiction": "Sci-Fi", "space": "Sci-Fi",
    "thriller": "Thriller", "thrillers": "Thriller", "suspense": "Thriller",
    "war": "War", "western": "Western", "westerns": "Western", "cowboy": "Western", "imax": "IMAX",
}
# phrases that name two genres at once
MULTI_GENRE_WORDS = {"rom com": ("Romance", "Comedy"), "rom coms": ("Romance", "Comedy"), "romcom": ("Romance", "Comedy"),
                     "romcoms": ("Romance", "Comedy"), "romantic comedy": ("Romance", "Comedy"),
                     "romantic comedies": ("Romance", "Comedy")}
# Chinese genre words (matched as substrings: Chinese has no spaces) -> MovieLens genre
ZH_GENRE_WORDS = {
    "喜剧": "Comedy", "搞笑": "Comedy", "恐怖": "Horror", "鬼片": "Horror", "惊悚": "Thriller", "科幻": "Sci-Fi",
    "太空": "Sci-Fi", "动画": "Animation", "动漫": "Animation", "卡通": "Animation", "爱情": "Romance",
    "浪漫": "Romance", "动作": "Action", "纪录片": "Documentary", "记录片": "Documentary", "纪录": "Documentary",
    "悬疑": "Mystery", "推理": "Mystery", "犯罪": "Crime", "黑帮": "Crime", "警匪": "Crime", "战争": "War",
    "西部": "Western", "奇幻": "Fantasy", "魔幻": "Fantasy", "冒险": "Adventure", "剧情": "Drama",
    "歌舞": "Musical", "音乐剧": "Musical", "儿童": "Children", "家庭": "Children", "全家": "Children",
    "孩子": "Children", "小孩": "Children", "黑色电影": "Film-Noir", "二战": "War", "越战": "War", "黑手党": "Crime",
}
# Chinese release titles of widely known films -> the catalog title; used only when that title is in the catalog
ZH_TITLES = {
    "泰坦尼克号": "Titanic", "泰坦尼克": "Titanic", "黑客帝国": "The Matrix", "阿甘正传": "Forrest Gump",
    "肖申克的救赎": "The Shawshank Redemption", "盗梦空间": "Inception", "千与千寻": "Spirited Away",
    "玩具总动员": "Toy Story", "狮子王": "The Lion King", "侏罗纪公园": "Jurassic Park", "教父": "The Godfather",
    "低俗小说": "Pulp Fiction", "星际穿越": "Interstellar", "阿凡达": "Avatar", "异形": "Alien",
    "搏击俱乐部": "Fight Club", "海底总动员": "Finding Nemo", "怪物史莱克": "Shrek", "史莱克": "Shrek",
    "楚门的世界": "The Truman Show", "辛德勒的名单": "Schindler's List", "黑暗骑士": "The Dark Knight",
    "龙猫": "My Neighbor Totoro", "卧虎藏龙": "Crouching Tiger, Hidden Dragon", "无间道": "Infernal Affairs",
    "花样年华": "In the Mood For Love", "重庆森林": "Chungking Express", "终结者": "The Terminator",
    "回到未来": "Back to the Future", "沉默的羔羊": "The Silence of the Lambs", "七宗罪": "Seven",
    "美国丽人": "American Beauty", "拯救大兵瑞恩": "Saving Private Ryan", "勇敢的心": "Braveheart",
    "阿拉丁": "Aladdin", "飞屋环游记": "Up", "机器人总动员": "WALL·E", "疯狂动物城": "Zootopia",
    "冰雪奇缘": "Frozen", "寻梦环游记": "Coco", "爱乐之城": "La La Land", "功夫熊猫": "Kung Fu Panda",
    "大白鲨": "Jaws", "闪灵": "The Shining", "指环王": "The Lord of the Rings: The Fellowship of the Ring",
    "哈利波特": "Harry Potter and the Sorcerer's Stone", "蝙蝠侠": "Batman", "钢铁侠": "Iron Man",
    "蜘蛛侠": "Spider-Man", "复仇者联盟": "The Avengers", "死侍": "Deadpool", "角斗士": "Gladiator",
    "记忆碎片": "Memento", "天使爱美丽": "Amelie", "放牛班的春天": "The Chorus", "这个杀手不太冷": "Léon: The Professional",
}
# Chinese words of film wishes -> English words the catalog's texts use (plots, tags), so that an English-only
# embedder can serve a Chinese wish ("query translation"). Matched longest first as substrings of the Chinese
# part of the wish; written from general vocabulary, not from the benchmark's requests.
ZH_WISH_WORDS = {
    # creatures and beings
    "恐龙": "dinosaur dinosaurs", "僵尸": "zombie zombies", "丧尸": "zombie zombies", "吸血鬼": "vampire vampires",
    "狼人": "werewolf", "外星人": "alien aliens extraterrestrial", "外星": "alien aliens", "怪兽": "monster monsters",
    "怪物": "monster monsters", "鬼魂": "ghost ghosts", "幽灵": "ghost ghosts", "鬼": "ghost ghosts",
    "机器人": "robot robots", "人工智能": "artificial intelligence AI", "超级英雄": "superhero superheroes",
    "超能力": "superpowers", "巫师": "wizard wizards", "女巫": "witch witches", "魔法": "magic wizard", "魔法师": "wizard",
    "龙": "dragon dragons", "鲨鱼": "shark sharks", "狗": "dog dogs", "小狗": "dog puppy", "猫": "cat cats",
    "马": "horse horses", "熊": "bear", "猴子": "monkey apes", "猩猩": "ape apes gorilla", "企鹅": "penguin penguins",
    "动物": "animals", "美人鱼": "mermaid", "人鱼": "mermaid", "公主": "princess", "王子": "prince", "国王": "king",
    "女王": "queen", "骑士": "knight knights", "武士": "samurai", "忍者": "ninja", "海盗": "pirate pirates",
    "牛仔": "cowboy cowboys", "间谍": "spy spies espionage", "特工": "secret agent spy", "杀手": "hitman assassin killer",
    "刺客": "assassin", "连环杀手": "serial killer", "警察": "police cop", "侦探": "detective", "律师": "lawyer court",
    "医生": "doctor", "士兵": "soldier soldiers", "军队": "army soldiers", "黑客": "hacker hackers", "小丑": "clown joker",
    "圣诞老人": "santa claus christmas", "天使": "angel", "魔鬼": "devil demon", "恶魔": "demon devil possession",
    "神": "god gods", "上帝": "god", "耶稣": "jesus", "克隆": "clone clones", "变种人": "mutants",
    # settings and things
    "太空": "space astronaut", "宇宙": "space universe", "外太空": "outer space", "宇航员": "astronaut astronauts",
    "火星": "mars", "月球": "moon lunar", "星球": "planet planets", "飞船": "spaceship", "潜艇": "submarine",
    "海底": "underwater ocean", "大海": "sea ocean", "海洋": "ocean sea", "沙漠": "desert", "丛林": "jungle",
    "森林": "forest woods", "岛": "island", "荒岛": "deserted island stranded", "山": "mountain", "雪": "snow",
    "监狱": "prison", "学校": "school", "高中": "high school", "大学": "college university", "医院": "hospital",
    "法庭": "courtroom trial", "赌场": "casino gambling", "银行": "bank", "城堡": "castle", "火车": "train",
    "飞机": "airplane plane", "汽车": "car cars", "赛车": "racing race car", "船": "ship boat", "电脑": "computer",
    "网络": "internet online", "游戏": "game video game", "电子游戏": "video game", "虚拟现实": "virtual reality",
    "梦境": "dreams dream", "梦": "dream dreams", "时间旅行": "time travel", "穿越时空": "time travel",
    "穿越": "time travel", "时光机": "time machine", "平行宇宙": "parallel universe", "未来": "future futuristic",
    "末日": "apocalypse post-apocalyptic end of the world", "世界末日": "apocalypse end of the world",
    "核战争": "nuclear war", "瘟疫": "plague virus epidemic", "病毒": "virus outbreak", "灾难": "disaster",
    "地震": "earthquake", "火山": "volcano", "龙卷风": "tornado", "洪水": "flood", "小行星": "asteroid",
    "纽约": "new york", "巴黎": "paris", "伦敦": "london", "东京": "tokyo", "日本": "japan japanese",
    "中国": "china chinese", "香港": "hong kong", "印度": "india indian", "韩国": "korea korean", "法国": "france french",
    "意大利": "italy italian", "德国": "germany german", "俄罗斯": "russia russian", "苏联": "soviet",
    "美国": "america american", "英国": "britain british england", "非洲": "africa", "墨西哥": "mexico",
    "拉斯维加斯": "las vegas", "好莱坞": "hollywood", "农村": "rural countryside", "小镇": "small town",
    "郊区": "suburbs suburban", "城市": "city",
    # events and themes
    "抢劫": "heist robbery", "劫案": "heist robbery", "盗窃": "theft heist", "越狱": "prison escape", "逃亡": "escape on the run",
    "复仇": "revenge", "报仇": "revenge", "谋杀": "murder", "凶杀": "murder", "绑架": "kidnapping",
    "毒品": "drugs", "贩毒": "drug dealer drugs", "黑手党": "mafia mob", "帮派": "gang gangs", "腐败": "corruption",
    "阴谋": "conspiracy", "政治": "politics political", "总统": "president", "选举": "election", "革命": "revolution",
    "二战": "world war ii wwii nazis", "第二次世界大战": "world war ii wwii", "一战": "world war i",
    "越战": "vietnam war", "越南战争": "vietnam war", "纳粹": "nazis", "大屠杀": "holocaust", "内战": "civil war",
    "冷战": "cold war", "恐怖分子": "terrorists terrorism", "战斗": "battle fight", "武术": "martial arts",
    "功夫": "kung fu martial arts", "武侠": "martial arts wuxia swordsman", "拳击": "boxing boxer", "摔跤": "wrestling",
    "体育": "sports", "运动": "sports", "足球": "soccer football", "橄榄球": "american football", "篮球": "basketball",
    "棒球": "baseball", "冰球": "hockey", "网球": "tennis", "高尔夫": "golf", "冲浪": "surfing", "滑雪": "skiing",
    "国际象棋": "chess", "象棋": "chess", "赛马": "horse racing", "奥运": "olympics",
    "音乐": "music musician", "音乐家": "musician", "摇滚": "rock and roll rock band", "乐队": "band",
    "爵士": "jazz", "歌手": "singer", "跳舞": "dance dancing", "舞蹈": "dance dancing", "芭蕾": "ballet",
    "美食": "food cooking", "做饭": "cooking", "厨师": "chef cooking", "烹饪": "cooking chef", "餐厅": "restaurant",
    "婚礼": "wedding", "结婚": "marriage wedding", "离婚": "divorce", "婚姻": "marriage", "出轨": "affair infidelity",
    "初恋": "first love", "爱情故事": "love story", "恋爱": "love romance", "约会": "dating",
    "友情": "friendship friends", "友谊": "friendship", "朋友": "friends", "兄弟": "brothers", "姐妹": "sisters",
    "父子": "father son", "母女": "mother daughter", "父女": "father daughter", "母子": "mother son", "亲情": "family",
    "家人": "family", "家庭": "family", "孩子": "children kids", "青春": "coming of age teen youth", "成长": "coming of age",
    "青少年": "teen teenagers", "校园": "high school campus", "毕业": "graduation", "老人": "old age elderly",
    "死亡": "death", "自杀": "suicide", "疾病": "illness disease", "癌症": "cancer", "残疾": "disability",
    "自闭症": "autism", "精神病": "mental illness insanity", "心理": "psychological", "失忆": "amnesia memory loss",
    "记忆": "memory memories", "梦想": "dreams ambition", "励志": "inspirational", "真实故事": "true story based on a true story",
    "真实事件": "based on a true story true story", "传记": "biography biopic", "历史": "history historical",
    "古代": "ancient", "中世纪": "medieval", "古罗马": "ancient rome roman", "罗马": "rome roman", "希腊": "greek greece",
    "埃及": "egypt", "圣经": "bible biblical", "宗教": "religion religious", "神话": "mythology myth",
    "童话": "fairy tale", "寓言": "fable", "冒险": "adventure", "探险": "expedition exploration adventure", "寻宝": "treasure hunt",
    "宝藏": "treasure", "公路": "road trip", "公路旅行": "road trip", "旅行": "journey travel trip", "生存": "survival",
    "求生": "survival", "反乌托邦": "dystopia dystopian", "乌托邦": "utopia", "赛博朋克": "cyberpunk",
    "蒸汽朋克": "steampunk", "超现实": "surreal", "黑色幽默": "dark comedy black comedy", "讽刺": "satire",
    "恶搞": "parody spoof", "模仿": "parody", "荒诞": "absurd", "烧脑": "mind-bending twist", "反转": "plot twist twist ending",
    "结局反转": "twist ending", "血腥": "gore gory violent", "暴力": "violence violent", "温馨": "heartwarming",
    "感人": "touching moving emotional", "催泪": "tearjerker sad", "悲伤": "sad", "治愈": "heartwarming feel-good",
    "轻松": "light-hearted", "搞怪": "quirky", "浪漫": "romantic", "性感": "sexy", "恐怖": "horror scary",
    "吓人": "scary", "紧张": "tense suspense", "刺激": "thrilling exciting", "动作场面": "action scenes",
    "特效": "special effects", "视觉效果": "visual effects", "黑白": "black and white", "默片": "silent film",
    "经典": "classic", "老电影": "old classic", "获奖": "award winning", "奥斯卡": "oscar academy award",
    "独立电影": "independent indie", "小众": "obscure", "冷门": "underrated", "高分": "highly rated", "好评": "acclaimed",
    "邪教": "cult", "驱魔": "exorcism", "鬼屋": "haunted house", "闹鬼": "haunted", "诅咒": "curse cursed",
    "灵异": "supernatural paranormal", "超自然": "supernatural", "外星入侵": "alien invasion", "入侵": "invasion",
    "实验": "experiment", "科学家": "scientist", "发明": "inventor invention", "疯狂科学家": "mad scientist",
    "记者": "journalist reporter", "新闻": "news journalism", "作家": "writer author", "画家": "painter artist",
    "艺术": "art artist", "摄影": "photographer", "演员": "actor actress", "电影拍摄": "filmmaking",
    "商业": "business", "金融": "finance wall street", "华尔街": "wall street", "股票": "stock market",
    "骗子": "con man con artist", "诈骗": "con swindle", "骗局": "con scam", "赌博": "gambling", "扑克": "poker",
    "圣诞": "christmas", "圣诞节": "christmas", "万圣节": "halloween", "感恩节": "thanksgiving", "新年": "new year",
    "夏天": "summer", "冬天": "winter", "雨": "rain", "夜晚": "night",
    "女性": "women female", "女权": "feminist feminism", "同性恋": "gay lesbian homosexuality", "种族": "racism race",
    "移民": "immigrants immigration", "奴隶": "slavery slaves", "贫穷": "poverty", "无家可归": "homeless",
}
# Chinese genre words that say more than the genre: the rest is kept in the wish, as the English word is
ZH_GENRE_SENSE = {"太空": "space", "黑帮": "gangster mafia", "警匪": "cops", "鬼片": "ghost", "家庭": "family",
                  "全家": "family", "孩子": "kids", "小孩": "kids", "搞笑": "funny", "推理": "detective whodunit",
                  "动漫": "anime", "卡通": "cartoon", "二战": "world war ii", "越战": "vietnam", "黑手党": "mafia"}

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


_ZH = re.compile(r"[\u3400-\u9fff]")
_ZH_NEG = r"(?:不要|不想看?|不看|不喜欢|不爱|讨厌|除了|(?<!有)没有|不需要|不用|受不了|别(?![的人]))"
_ZH_NEG_BEFORE = re.compile(_ZH_NEG + r"[^，。,.!！?？;；、\s]{0,4}\s*$")
_ZH_SOFT_BEFORE = re.compile(r"(?:不要太|别太|不太|不那么|少一?点)\s*$")
_ZH_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_ZH_ORDINAL = re.compile(r"第\s*([一二两三四五六七八九十]|\d{1,2})\s*(?:部|个|项|条|名|本|号)?")
_ZH_LAST = re.compile(r"最后(?:一|那)?(?:部|个|项|条)")
_ZH_FIRST_N = re.compile(r"前\s*([两二三四五]|\d)\s*(?:部|个|项|条)")
_ZH_DECADE = re.compile(r"(?:(19|20)?(\d)0|([一二三四五六七八九零])十)\s*年代")
_ZH_YEAR = re.compile(r"((?:19|20)\d\d)\s*年\s*(以后|之后|后|以来|起|以前|之前|前)?")
_GOODBYE_END = re.compile(r"\b(bye|goodbye|good bye|see (you|ya)|cya|ciao|farewell|good ?night)\W*$", re.I)
_ZH_GOODBYE = re.compile(r"(再见|拜拜|回头见|下次见|晚安|先这样|就这样吧|不聊了)")
_ZH_GREETING = re.compile(r"^\s*(你好|您好|嗨|哈喽|哈啰|早上好|下午好|晚上好|谢谢|多谢|感谢)|你是谁|你能做什么|你会做?什么|你叫什么|怎么用")
_ZH_REQUEST = re.compile(r"推荐|来几部|来点|来一部|想看|有没有|有什么|找几部|找一部|给我|电影|片子|影片|看什么|片")
_ZH_ASK = re.compile(r"讲的?是什么|讲什么|是什么|介绍一下|介绍下|谁导演|谁导的|导演是谁|谁演的|主演|哪一?年|多长|好看吗|怎么样|适合")
_ZH_POSITIVE = re.compile(r"(?<!不)喜欢|不错|好看(?!吗)|太好了|(?<!不)棒|(?<!不)赞|精彩|挺好|爱了|好极了")
_ZH_NEGATIVE = re.compile(r"不喜欢|不好看|没意思|无聊|一般般|讨厌|难看|不感兴趣|不行")
_ZH_SEEN = re.compile(r"看过|已经看|都看了|看了")
_MORE_OF_THE_SAME = re.compile(r"\b(more like (that|this|these|those|them)|more of (the same|that|this|these|those)|"
                               r"similar ones|more (of them|like these))\b|类似的再来|再来几部类似", re.I)
_ZH_REFINING = re.compile(r"只要|只看|就要|换成|改成|也|还是|再|别推荐|不要再")
_ZH_CRITIQUES = [
    ("older", re.compile(r"老一?点|更老|早一?点|更早|经典一?点|旧一?点")),
    ("newer", re.compile(r"新一?点|更新|最近的|最新")),
    ("lighter", re.compile(r"轻松一?点|轻松点|欢乐一?点|开心一?点|轻松的")),
    ("darker", re.compile(r"黑暗一?点|沉重一?点|严肃一?点|暗黑")),
    ("more_like", re.compile(r"更像|类似|像")),
    ("other", re.compile(r"换一批|换几部|换一部|别的|其他|其它|再来")),
]
_INJECTION = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|rules?|prompts?|directions)\b|\bsystem prompt\b|"
    r"\b(reveal|print|show|output|repeat|leak)\b.{0,30}\b(prompt|instructions?|rules|text above)\b|^\s*system\s*:|"
    r"\byou are now\b|\bdeveloper mode\b|\bjailbreak|\bpretend (you|to be)\b|\bno (rules|restrictions|filters)\b|"
    r"\bact as (a|an)\b|\bDAN\b|忽略.{0,8}(指令|规则|提示|设定)|系统提示|提示词|你现在是|扮演", re.I)
_OFF_TOPIC = re.compile(
    r"^\s*(please\s+|can you\s+|could you\s+)?(write|translate|calculate|compute|solve|book|order|call|email|send|"
    r"summari[sz]e|define|draw|sing|code|program|tell me a (joke|story)|reset|install|fix)\b|"
    r"\b(weather|password|capital of|stock|recipe|python|javascript|sql|homework|world cup|jokes?)\b|"
    r"<\s*/?\s*\w+[^>]*>|\bdrop table\b|\bselect\b.+\bfrom\b|[{};=]\s*$|^\W+$|"
    r"天气|代码|写一|翻译|计算|几点|股票|新闻|密码", re.I)
_QUESTION = re.compile(r"^\s*(what|what's|whats|who|whom|when|where|why|how|which|is|are|can|could|do|does|will|"
                       r"would)\b|\?\s*$|[吗呢]\s*[？?]?\s*$|怎么样", re.I)
_FILM_WORDS = re.compile(r"\b(movies?|films?|cinema|watch|watching|flicks?|recommend\w*|suggest\w*|series)\b|电影|片|推荐", re.I)
_STRICT_REQUEST = re.compile(r"\b(recommend|suggest|movies?|films?)\b|推荐|电影", re.I)
_FIRST_N = re.compile(r"\b(?:the\s+)?(first|last|top)\s+(two|three|four|2|3|4)\b", re.I)
_WORD_NUMBERS = {w: i for i, w in enumerate("one two three four five six seven eight nine ten".split(), 1)}
_SMALL = {"two": 2, "three": 3, "four": 4, "2": 2, "3": 3, "4": 4}
_NEGATORS = ("no", "not", "without", "except", "nothing", "avoid", "skip", "hate", "hates", "dislike",
             "don't want", "dont want", "do not want", "no more", "none", "never", "anything but", "not into",
             "not a fan of", "less", "fewer", "too much", "isn t", "isnt", "aren t", "arent", "wasn t", "doesn t",
             "don t like", "dont like")
_SOFT_NEGATORS = ("less", "fewer", "not too", "not so", "too much", "not as", "less of")

_GOODBYE = re.compile(r"^\s*(?:(?:ok(?:ay)?|alright|right|well|great|thanks|thank you|cool)[,.! ]+)?(bye|goodbye|good bye|see (you|ya)|cya|quit|exit|ciao|good ?night|farewell|"
                      r"that'?s all|i'?m done|thanks,? bye|thank you,? bye)\b", re.I)
_GREETING = re.compile(r"^\s*(hi|hello|hey|hiya|howdy|yo|good (morning|afternoon|evening)|thanks|thank you|"
                       r"thx|cheers|how are you|what'?s up|who are you|what can you do|help)\b", re.I)
_REQUEST = re.compile(r"\b(recommend|suggest|suggestion|show me|give me|find me|find|looking for|look for|want|"
                      r"wanna|need|in the mood|something|anything|movie|movies|film|films|watch|any ideas|"
                      r"what should|options|picks?|more|how about|what about|what'?s good|ideas)\b", re.I)
_ASK = re.compile(r"\b(tell me (more )?about|what(?:'s| is) .+ about|what is it about|more info|details|"
                  r"who (directed|stars|is in|plays|made|wrote)|when was|what year|how long|"
                  r"is (it|that|this|that one|this one) (any )?(good|scary|funny|violent|sad|long|ok|okay|worth|suitable|for kids)|"
                  r"info on|information (on|about)|describe|why (did|do|would) you (pick|choose|chose|recommend|suggest|show))\b", re.I)
_POSITIVE = re.compile(r"\b(loved?|liked?|like (that|this|it)|enjoyed|great|awesome|amazing|perfect|good one|"
                       r"nice|fantastic|brilliant|favou?rite|yes|yeah|thumbs up)\b", re.I)
_NEGATIVE = re.compile(r"\b(hated?|dislike[sd]?|didn'?t like|don'?t like|do not like|not (for me|interested|that one)|not my (thing|cup of tea|style|taste|type)|"
                       r"boring|awful|terrible|bad|meh|nope|no thanks|thumbs down|not a fan)\b", re.I)
_SEEN = re.compile(r"\b(seen (it|that|this|them|those|already)|already (seen|watched)|watched (it|that|already)|"
                   r"(i'?ve|i have|have) (already )?(seen|watched)|already saw|saw (it|that|this|them|those) (already|before))\b|\b(seen|watched)\b.*\balready\b", re.I)
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
             "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7, "eighth": 8, "8th": 8,
             "ninth": 9, "9th": 9, "tenth": 10, "10th": 10}
_REF = re.compile(r"(?:#\s*(\d{1,2})\b|\b(?:number|no\.?|item|option|pick)\s*(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)\b|\bthe (last) one\b|\b("
                  + "|".join(_ORDINALS) + r")\b(?:\s+(?:one|movie|film|item|pick|option))?)", re.I)
_CRITIQUES = [
    ("older", re.compile(r"\b(older|earlier|classic|less recent|from before)\b", re.I)),
    ("newer", re.compile(r"\b(newer|more recent|recent|latest|modern|new ones?)\b", re.I)),
    ("lighter", re.compile(r"\b(lighter|less dark|happier|more fun|feel[- ]good|less serious|funnier|upbeat)\b", re.I)),
    ("darker", re.compile(r"\b(darker|more serious|grittier|less light|more intense|bleaker)\b", re.I)),
    ("more_like", re.compile(r"\b(more like|similar to|something like|like) (that|this|it|the|#|number)", re.I)),
    ("less_like", re.compile(r"\b(less like|not like|unlike|different from) (that|this|it|the|#|number)", re.I)),
    ("other", re.compile(r"\b(something else|other (ones|options|suggestions)|different ones?|another|others|"
                         r"more options|show me more|more please|next)\b", re.I)),
]
_REFINING = re.compile(r"\b(only|just|make it|but|instead|also|rather|too|as well|now|same)\b", re.I)
_DECADE = re.compile(r"\b(?:(19|20)?(\d)0'?s)\b", re.I)
_DECADE_WORDS = {"twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950, "sixties": 1960,
                 "seventies": 1970, "eighties": 1980, "nineties": 1990}
_AFTER = re.compile(r"\b(?:after|since|newer than|post|later than)\s+((?:19|20)\d\d)\b|\bfrom\s+((?:19|20)\d\d)\s+(?:on|onwards?|and later)\b", re.I)
_BEFORE = re.compile(r"\b(?:before|until|older than|pre|prior to|earlier than)(?:\s+|-)((?:19|20)\d\d)\b", re.I)
_BETWEEN = re.compile(r"\b(?:between|from)\s+((?:19|20)\d\d)\s*(?:and|to|-|–|until)\s*((?:19|20)\d\d)\b", re.I)
_IN_YEAR = re.compile(r"\b(?:in|from|of)\s+((?:19|20)\d\d)\b", re.I)
_TITLE_CUES = ("like", "liked", "love", "loved", "enjoyed", "as", "than", "to", "hated", "hate", "watched", "describe",
               "directed", "in", "on",
               "seen", "about", "disliked", "unlike", "adore", "adored")
_FILLER = re.compile(
    r"\b(please|can you|could you|would you|i'?d like|i would like|i want|i wanna|i need|i'm looking for|"
    r"im looking for|looking for|recommend( me)?|suggest( me)?|give me|show me|find me|some|a few|any|"
    r"something|anything|movies?|films?|to watch|for tonight|tonight|me|i|a|an|the|with|but|and|or|maybe|"
    r"really|just|also|similar to|like|kind of|sort of|stuff|ones?|good|great|nice|that|is|are|which|of)\b",
    re.I,
)
_NOT_A_WISH = re.compile(
    r"\b(loved?|liked?|enjoyed|hated?|disliked?|older|newer|earlier|recent|latest|lighter|darker|more|less|"
    r"tell|about|info|details|another|else|other|others|different|instead|hello|hi|hey|thanks|thank|you|"
    r"yes|no|not|ok|okay|what|should|we|my|it|this|those|these|one|\d+)\b", re.I)
_TOPIC_HEADS = {"movies", "movie", "films", "film", "something", "anything", "stories", "story", "documentaries",
                "documentary", "comedies", "dramas", "ones", "cartoons", "shows"}
# Words so common that a title made only of them ("Up", "It", "Her", "Love") needs a clear cue to count.
_COMMON = set("""a an the i me my you your it its he she her him his we us our they them their this that these those
is are was were be been being am do does did done have has had go goes went gone get got make made see saw seen
watch watched want like liked love loved good bad great best better nice new old big small little long short
one two three four five six seven eight nine ten first last next more most less some any all no not yes up down
out in on at to of for with from by about as than then so too very just also only really movie movies film films
something anything nothing everything show shows me please thanks hello hi hey night day time life world man
men woman women girl boy kids home house people love story funny scary dark light happy sad action drama comedy
horror crime war western fantasy mystery romance thriller family children animation musical documentary adventure
space magic noir recent classic classics older newer lighter darker again other another different same similar
tonight today year years ago evening weekend fun help need where what when who why how which while""".split())


# ------------------------------------------------------------------ the rule parser

def clean_message(text: str, limit: int) -> str:
    """Printable text only, whitespace collapsed, cut to `limit` characters."""
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()[:limit]


def _space_cjk(text: str) -> str:
    """Put spaces around CJK characters so that each is one token (Chinese has no spaces between words)."""
    return re.sub(r"([\u3400-\u9fff\uf900-\ufaff])", r" \1 ", text)


def _norm(text: str) -> str:
    """`normalize_title` with every CJK character a token of its own: the token space of the rule parser."""
    return normalize_title(_space_cjk(text))


def _cased_tokens(text: str) -> list[str]:
    """The tokens of `_norm(text)` with the case the person typed."""
    text = unicodedata.normalize("NFKD", _space_cjk(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).replace("&", " and ")
    return re.sub(r"[^\w\s]", " ", text).split()


def _is_cjk(token: str) -> bool:
    return bool(_ZH.match(token))


class RuleParser:
    name = "rules"

    def __init__(self, catalog: Catalog, aliases: Path | str | None = ALIASES_PATH, translate: bool = True):
        """`aliases`: the alias table (None: only the built-in Chinese titles); `translate`: put the Chinese words of
        a wish into English (query translation) for an English-only embedder."""
        self.catalog = catalog
        self.translate_wish = translate
        self._vocab: set[str] | None = None
        lower_vocab = {g.lower(): g for g in catalog.genres}
        self.genre_words = {w: g for w, g in GENRE_WORDS.items() if g in catalog.genres}
        for low, g in lower_vocab.items():
            self.genre_words.setdefault(normalize_title(low), g)
        self.multi_genre_words = {w: gs for w, gs in MULTI_GENRE_WORDS.items() if all(g in catalog.genres for g in gs)}
        self.zh_genre_words = dict(sorted(((w, g) for w, g in ZH_GENRE_WORDS.items() if g in catalog.genres),
                                          key=lambda kv: -len(kv[0])))
        self._fuzzy_genre_keys = [w for w in self.genre_words if len(w) >= 5 and " " not in w]
        alias_titles, self.collections = load_aliases(catalog, aliases)
        zh_titles = dict(alias_titles)
        self.zh_names: dict[str, str] = {}  # item id -> its usual Chinese title, for Chinese replies
        for name, item_id in alias_titles.items():
            if _ZH.search(name):
                self.zh_names.setdefault(item_id, name)
        for zh, title in ZH_TITLES.items():  # built-in names for catalogs the shipped table does not cover
            hits = catalog.titles.exact(title)
            if hits and zh not in zh_titles:
                zh_titles[zh] = catalog.items[hits[0]].item_id
        self.zh_titles = dict(sorted(zh_titles.items(), key=lambda kv: -len(kv[0])))
        # other names of films (Chinese release titles, short English names) as token runs of `_norm`
        self._alias_runs = sorted(((tuple(_norm(name).split()), i) for name, i in zh_titles.items() if _norm(name)),
                                  key=lambda ni: -len("".join(ni[0])))
        # collection names as token runs of `_norm`, longest first: ("宫","崎","骏") / ("hayao","miyazaki")
        self._collection_names = sorted(
            ((tuple(_norm(name).split()), key) for key, c in self.collections.items() for name in c.names if _norm(name)),
            key=lambda nk: -len("".join(nk[0])))
        self._names_by_first: dict[str, list] = {}
        for tokens, key in self._collection_names:
            self._names_by_first.setdefault(tokens[0], []).append((tokens, key))
        self._wish_words = sorted(ZH_WISH_WORDS.items(), key=lambda kv: -len(kv[0]))
        # How ordinary is a word? Document frequency over the catalog's descriptions: "thing", "night" and
        # "perfect" are everyday words even though films carry them as titles; "matrix" and "fargo" are not.
        self._df: dict[str, int] = {}
        n_docs = 0
        for it in catalog.items:
            if it.overview:
                n_docs += 1
                for w in set(normalize_title(it.overview).split()):
                    self._df[w] = self._df.get(w, 0) + 1
        self._df_limit = max(2, int(0.005 * n_docs))
        counts = sorted(it.rating_count for it in catalog.items)
        self._popular = counts[int(0.9 * (len(counts) - 1))] if counts else 0  # top 10% by ratings

    # -- slots
    def find_collections(self, text: str) -> list[tuple[str, int, int]]:
        """Named sets of films in `text`: [(collection key, start, end)] with token spans of `_norm(text)`.

        A person or studio counts wherever named (宫崎骏, Miyazaki, 皮克斯). A series counts only when the
        message asks for the series (星球大战系列, 星球大战的电影, "the Star Wars films", "all the Bond films");
        otherwise its name is a title like any other (像星球大战那样的 = films like Star Wars)."""
        words = _norm(text).split()
        matches = []  # every name that occurs, then the longest ones win where names overlap
        for start, word in enumerate(words):
            for tokens, key in self._names_by_first.get(word, ()):
                n = len(tokens)
                if tuple(words[start:start + n]) != tokens:
                    continue
                if not _is_cjk(tokens[0]) and len("".join(tokens)) < 3:
                    continue
                if self.collections[key].kind == "series" and not self._asks_for_series(words, start, start + n):
                    continue
                matches.append((len("".join(tokens)), key, start, start + n))
        taken = [False] * len(words)
        found = []
        for _, key, start, end in sorted(matches, key=lambda m: (-m[0], m[2])):
            if not any(taken[start:end]):
                found.append((key, start, end))
                for j in range(start, end):
                    taken[j] = True
        found.sort(key=lambda f: f[1])
        return found

    @staticmethod
    def _asks_for_series(words: list[str], start: int, end: int) -> bool:
        after = "".join(words[end:end + 4])
        before = " ".join(words[max(0, start - 3):start])
        if re.search(r"系列|三部曲|全集", "".join(words[start:end])) or \
                re.search(r"\b(films|movies|series|saga|trilogy)\b", " ".join(words[start:end])):
            return True  # the name says it: 星球大战系列, "Matrix trilogy"
        if re.search(r"(像|类似|似|和|跟|同)\s*$|\b(like|than|similar to|as good as)$", before):
            return False  # 像侏罗纪公园的电影 / films like Jurassic Park: the title, as a model to follow
        if re.match(r"(?:的)?(?:系列|三部曲|全集|所有|全部|电影|影片|片子|几部|每一部)", after) or \
                re.search(r"(所 有|全 部|整 个)\s*(的\s*)?$", before):
            return True
        nxt = " ".join(words[end:end + 2])
        return bool(re.match(r"(films?|movies?|series|saga|trilogy|franchise)\b", nxt)) or \
            bool(re.search(r"\b(all|every|each)( of)?( the)?$", before))

    def collection_name(self, key: str, lang: str = "en") -> str:
        """宫崎骏 / Hayao Miyazaki: how a reply names a collection."""
        names = self.collections[key].names if key in self.collections else []
        if lang == "zh":
            return next((n for n in names if _ZH.search(n)), key)
        return key

    def collection_items(self, keys: list[str]) -> list[str]:
        """The catalog ids of the named collections, in the table's order, without repeats."""
        out: list[str] = []
        for key in keys:
            for item_id in self.collections[key].items if key in self.collections else []:
                if item_id not in out:
                    out.append(item_id)
        return out

    def find_titles(self, text: str) -> list[tuple[str, int, int, str]]:
        """Catalog titles mentioned in `text`: [(item_id, start, end, polarity)] with token spans of `_norm(text)`."""
        norm = _norm(text)
        words = norm.split()
        cased = _cased_tokens(text)
        if len(cased) != len(words):
            cased = words
        has_cjk = bool(_ZH.search(text))
        quoted = {normalize_title(q) for q in re.findall(r"[\"“”'‘’「」『』]([^\"“”'‘’「」『』]{2,80})[\"“”'‘’「」『』]", text)}
        found: list[tuple[str, int, int, str]] = []
        taken = [False] * len(words)
        for chars, item_id in self._alias_runs:  # other names of known films: 千与千寻 -> Spirited Away
            chars = list(chars)
            for start in range(0, len(words) - len(chars) + 1):
                if words[start:start + len(chars)] == chars and not any(taken[start:start + len(chars)]):
                    found.append((item_id, start, start + len(chars), self._polarity(words, start)))
                    for j in range(start, start + len(chars)):
                        taken[j] = True
        max_n = min(self.catalog.titles.max_words, len(words))
        for n in range(max_n, 0, -1):
            for start in range(0, len(words) - n + 1):
                if any(taken[start:start + n]):
                    continue
                phrase = " ".join(words[start:start + n])
                positions = self.catalog.titles.keys.get(phrase)
                if not positions or _is_cjk(words[start]):
                    continue
                pos = self._pick_by_year(positions, words[start + n:start + n + 1])
                if not self._plausible(phrase, words, start, n, cased, quoted, has_cjk, pos):
                    continue
                item_id = self.catalog.items[pos].item_id
                found.append((item_id, start, start + n, self._polarity(words, start)))
                for j in range(start, start + n):
                    taken[j] = True
        if not found:
            found.extend(self._fuzzy_after_cues(norm))
        found.sort(key=lambda f: f[1])
        return found

    def _plausible(self, phrase, words, start, n, cased, quoted, has_cjk, pos) -> bool:
        """Is this word run a mention of the title, or ordinary words that happen to spell one?"""
        tokens = phrase.split()
        if phrase in self.genre_words and phrase not in quoted:
            return False  # "comedy" asks for a genre, not for the film called Comedy
        if phrase in quoted:
            return True
        prev = words[start - 1] if start > 0 else ""
        after = words[start + n] if start + n < len(words) else ""
        cue = prev in _TITLE_CUES
        capitalised = all(c[:1].isupper() or c[:1].isdigit() or c.lower() in ("of", "the", "a", "an", "and", "in", "on")
                          for c in cased[start:start + n]) and cased[start][:1].isupper()
        whole = n == len(words)
        # a Latin-script run between Chinese words is a deliberate mention: "推荐一些像 The Matrix 的电影"
        switched = has_cjk and (not prev or _is_cjk(prev)) and (not after or _is_cjk(after)) and (capitalised or n > 1)
        if all(t in _COMMON or t.isdigit() for t in tokens):
            if n >= 3 and cue:
                return True
            # capitalised mid-sentence after a cue ("I loved Up"), or alone / between Chinese words
            return (capitalised and (cue or whole or switched)) and start > 0 or (whole and capitalised) or \
                (switched and capitalised)
        if len(phrase) < 3:
            return False
        if prev == "about" and start >= 2 and words[start - 2] in _TOPIC_HEADS and not capitalised:
            return False  # "movies about robots" is a topic; "movies about Robots" or "tell me about robots" a title
        if cue or whole or switched or (capitalised and start > 0):
            return True
        if prev in ("with", "without", "some", "no", "any", "more", "less", "fewer", "many", "of"):
            return False  # "nothing with aliens", "some heat": what a film contains, said in lower case
        # no cue: only a popular film whose name has a word that is rare in ordinary descriptions
        rare = min(self._df.get(t, 0) for t in tokens if t not in _COMMON) <= self._df_limit
        return rare and self.catalog.items[pos].rating_count >= self._popular

    def _pick_by_year(self, positions: list[int], following: list[str]) -> int:
        if following and following[0].isdigit() and len(following[0]) == 4:
            year = int(following[0])
            for p in positions:
                if self.catalog.items[p].year == year:
                    return p
        return positions[0]  # most rated first

    @staticmethod
    def _polarity(words: list[str], start: int) -> str:
        before = " ".join(words[max(0, start - 6):start])
        if re.search(r"\b(not|didn t|didnt|don t|dont|hate|hated|dislike|disliked|unlike|nothing like|except|"
                     r"no more|boring|awful|terrible|less like|can t stand)\b", before):
            return "dislike"
        if re.search(r"不喜欢|讨厌|不要|不想看|没意思|不爱|受不了|难看", before.replace(" ", "")):
            return "dislike"
        return "like"

    def _fuzzy_after_cues(self, norm: str) -> list[tuple[str, int, int, str]]:
        out = []
        pattern = (r"\b(?:like|loved|liked|enjoyed|similar to|than|hated|as good as|(?:what|waht|wat|whats)\s+(?:is|s))\s+"
                   r"(.+?)(?=\s+(?:but|and|or|with|without|except|though|only|please|that|which|about)\b|$)")
        for m in re.finditer(pattern, norm):
            span = m.group(1).strip()
            words = span.split()
            cjk = next((i for i, w in enumerate(words) if _is_cjk(w)), len(words))
            words = words[:cjk]
            if not words or _REF.match(" ".join(words)) or words[0] in ("the", "a", "an") and len(words) > 1 and \
                    (words[1] in _ORDINALS or words[1] in ("last", "next", "other")) or words[0] in ("number", "it", "that", "this"):
                continue  # "more like the second one" points into the list, it names no title
            for cut in range(min(len(words), 8), 0, -1):
                cand = " ".join(words[:cut])
                if all(w in _COMMON for w in cand.split()):
                    continue
                positions = self.catalog.titles.fuzzy(cand)
                if positions:
                    start = len(norm[:m.start(1)].split())
                    out.append((self.catalog.items[positions[0]].item_id, start, start + cut,
                                self._polarity(norm.split(), start)))
                    break
        return out

    def find_genres(self, norm: str, text: str = "") -> tuple[list[str], list[str], list[str]]:
        """(genres wanted, genres excluded, soft-avoid words) from the normalised message (and the raw text,
        for Chinese genre words and misspelled English ones)."""
        wanted, excluded, soft = [], [], []
        hits: list[tuple[int, str, str, str]] = []  # (position in norm, word, genre, text before it)
        spans: list[tuple[int, int]] = []

        def free(a, b):
            return all(b <= s or a >= e for s, e in spans)

        for word, genres in sorted(self.multi_genre_words.items(), key=lambda kv: -len(kv[0])):
            for m in re.finditer(rf"\b{re.escape(word)}\b", norm):
                if free(m.start(), m.end()):
                    spans.append((m.start(), m.end()))
                    hits += [(m.start(), word, g, norm[max(0, m.start() - 24):m.start()]) for g in genres]
        for word, genre in sorted(self.genre_words.items(), key=lambda kv: -len(kv[0])):
            for m in re.finditer(rf"\b{re.escape(word)}\b", norm):
                if free(m.start(), m.end()):
                    spans.append((m.start(), m.end()))
                    hits.append((m.start(), word, genre, norm[max(0, m.start() - 24):m.start()]))
        compact = re.sub(r"\s+", "", norm)  # Chinese words are matched without the spaces between characters
        zh_spans: list[tuple[int, int]] = []
        for word, genre in self.zh_genre_words.items():
            for m in re.finditer(re.escape(word), compact):
                if all(m.end() <= s or m.start() >= e for s, e in zh_spans):
                    zh_spans.append((m.start(), m.end()))
                    hits.append((-1, word, genre, compact[max(0, m.start() - 8):m.start()]))
        if self._fuzzy_genre_keys:  # misspelled genre words: "horor", "comdies", "thriler"
            for m in re.finditer(r"\b[a-z]{5,}\b", norm):
                token = m.group(0)
                if token in self.genre_words or token in _COMMON or self._df.get(token, 0) > 0 or not free(m.start(), m.end()):
                    continue
                from rapidfuzz import fuzz, process
                best = process.extractOne(token, self._fuzzy_genre_keys, scorer=fuzz.ratio, score_cutoff=84)
                if best:
                    hits.append((m.start(), token, self.genre_words[best[0]], norm[max(0, m.start() - 24):m.start()]))
        for _, word, genre, before in hits:
            if word in ("kid", "kids", "child", "children") and re.search(r"\b(as|was|were)\s+(a\s+)?$", before):
                continue  # "loved it as a kid" says when, not what
            if any(re.search(rf"\b{re.escape(s)}\s+$", before) for s in _SOFT_NEGATORS) or _ZH_SOFT_BEFORE.search(before):
                soft.append(word)
            elif any(re.search(rf"\b{re.escape(n)}\b(\s+\w+)?\s+$", before) for n in _NEGATORS) or \
                    _ZH_NEG_BEFORE.search(before):
                if genre not in excluded:
                    excluded.append(genre)
            elif genre not in wanted:
                wanted.append(genre)
        wanted = [g for g in wanted if g not in excluded]
        return wanted, excluded, list(dict.fromkeys(soft))

    def find_years(self, text: str) -> tuple[int | None, int | None]:
        low = text.lower()
        m = _BETWEEN.search(low)
        if m:
            a, b = sorted((int(m.group(1)), int(m.group(2))))
            return a, b
        lo = hi = None
        m = _AFTER.search(low)
        if m:
            lo = int(m.group(1) or m.group(2))
        m = _BEFORE.search(low)
        if m:
            hi = int(m.group(1)) - 1
        if lo is None and hi is None:
            for word, start in _DECADE_WORDS.items():
                if re.search(rf"\b{word}\b", low):
                    return start, start + 9
            m = _DECADE.search(low)
            if m:
                century = m.group(1) or ("20" if m.group(2) in "012" else "19")
                start = int(century + m.group(2) + "0")
                return start, start + 9
            m = _ZH_DECADE.search(low)
            if m:
                digit = m.group(2) if m.group(2) else str(_ZH_NUM.get(m.group(3), 0) % 10)
                century = m.group(1) or ("20" if digit in "012" else "19")
                start = int(century + digit + "0")
                return start, start + 9
            m = _ZH_YEAR.search(low)
            if m:
                year, rel = int(m.group(1)), m.group(2)
                if rel in ("以后", "之后", "后", "以来", "起"):
                    return year, None
                if rel in ("以前", "之前", "前"):
                    return None, year - 1
                return year, year
            m = _IN_YEAR.search(low)
            if m:
                return int(m.group(1)), int(m.group(1))
        return lo, hi

    @staticmethod
    def find_refs(text: str, n_last: int) -> list[int]:
        refs = []
        for m in _REF.finditer(text):
            num = m.group(1) or m.group(2)
            if num:
                refs.append(int(num) if num.isdigit() else _WORD_NUMBERS[num.lower()])
            elif m.group(3):
                refs.append(n_last if n_last else 1)
            elif m.group(4):
                refs.append(_ORDINALS[m.group(4).lower()])
        for m in _FIRST_N.finditer(text):  # "the first two", "the last three"
            k = _SMALL[m.group(2).lower()]
            if m.group(1).lower() == "last" and n_last:
                refs += list(range(max(1, n_last - k + 1), n_last + 1))
            else:
                refs += list(range(1, k + 1))
        for m in _ZH_ORDINAL.finditer(text):  # 第二部
            value = m.group(1)
            refs.append(int(value) if value.isdigit() else _ZH_NUM[value])
        if _ZH_LAST.search(text):  # 最后一部
            refs.append(n_last if n_last else 1)
        for m in _ZH_FIRST_N.finditer(text):  # 前两部
            value = m.group(1)
            refs += list(range(1, (int(value) if value.isdigit() else _ZH_NUM[value]) + 1))
        return list(dict.fromkeys(r for r in refs if r > 0))

    # -- the whole message
    def parse(self, message: str, context: ParseContext | None = None) -> Intent:
        context = context or ParseContext()
        text = message.strip()
        if _ZH.search(text):
            text = to_simplified(text)  # 推薦幾部動畫 reads as 推荐几部动画
        norm = _norm(text)
        has_list = bool(context.last_items)
        request = bool(_REQUEST.search(text) or _ZH_REQUEST.search(text))
        film_words = bool(_FILM_WORDS.search(text))

        if (_GOODBYE.search(text) or _GOODBYE_END.search(text)) and len(normalize_title(text).split()) <= 8 \
                and not (request and _GOODBYE_END.search(text) and not _GOODBYE.search(text)):
            return Intent("goodbye")
        if _ZH_GOODBYE.search(text) and len(norm.split()) <= 16 and not (request or film_words):
            return Intent("goodbye")

        collections = self.find_collections(text)
        titles = self.find_titles(text)
        if collections:  # "Hitchcock films" names the director, not the 2012 film called Hitchcock
            titles = [t for t in titles if not any(t[1] < e and s < t[2] for _, s, e in collections)]
        genres_in, genres_out, soft = self.find_genres(normalize_title(text), text)
        year_min, year_max = self.find_years(text)
        refs = self.find_refs(text, len(context.last_items)) if has_list else []
        named_refs = [context.last_items.index(t[0]) + 1 for t in titles if t[0] in context.last_items]
        refs = list(dict.fromkeys(refs + named_refs))  # a title from the last list points at its place in it

        # user text is data: an attempt to re-program the bot is small talk, unless it also asks for films
        if _INJECTION.search(text) and not (genres_in or genres_out or _STRICT_REQUEST.search(text)):
            return Intent("chitchat")
        if _OFF_TOPIC.search(text) and not (genres_in or genres_out or refs or film_words or _STRICT_REQUEST.search(text)):
            return Intent("chitchat")  # "what's the weather like tomorrow?": not about films at all

        liked = list(dict.fromkeys(t[0] for t in titles if t[3] == "like"))
        disliked = list(dict.fromkeys(t[0] for t in titles if t[3] == "dislike"))
        critiques = []
        if has_list:
            critiques = [name for name, rx in _CRITIQUES if rx.search(text)]
            critiques += [name for name, rx in _ZH_CRITIQUES if rx.search(text) and name not in critiques]
            if named_refs and re.search(r"\b(more|less) like\b|更像", text, re.I):
                critiques.append("less_like" if re.search(r"\bless like\b", text, re.I) else "more_like")
            critiques = list(dict.fromkeys(critiques))
        if "more_like" in critiques and "less_like" in critiques:
            critiques.remove("more_like")
        if not refs:  # "like the matrix" names a title; "more like #2" points into the list
            critiques = [c for c in critiques if c not in ("more_like", "less_like")]
        wish, avoid = self._wish(text, titles + [(k, s, e, "") for k, s, e in collections], soft)
        intent = Intent("recommend", liked=liked, disliked=disliked, genres_in=genres_in, genres_out=genres_out,
                        collections=list(dict.fromkeys(k for k, _, _ in collections)),
                        genres_any=len(genres_in) > 1 and bool(re.search(r"\b(or|either)\b|或者|还是", norm)),
                        year_min=year_min, year_max=year_max, wish_text=wish, avoid_text=avoid, refs=refs,
                        critiques=critiques)
        constraints = bool(genres_in or genres_out or year_min or year_max or soft or collections)

        if self._asks_about(text, titles, refs):
            about = titles[0][0] if titles else self._ref_id(refs[0], context)
            return Intent("ask_about_item", about_item=about, refs=refs)
        if has_list and (_SEEN.search(text) or (_ZH_SEEN.search(text) and not request)):
            intent.kind, intent.sentiment = "feedback", "seen"
            return intent
        positive = bool(_POSITIVE.search(text) or _ZH_POSITIVE.search(text))
        negative = bool(_NEGATIVE.search(text) or _ZH_NEGATIVE.search(text))
        asks_more = (bool(_REQUEST.search(text)) and bool(re.search(r"\b(more|another|others|something|similar|else)\b", text, re.I))) \
            or bool(re.search(r"(?<!你)推荐(?!的)|类似|再来", text))
        only_listed = all(t[0] in context.last_items for t in titles)
        if has_list and (positive or negative) and only_listed and not constraints and not asks_more \
                and not (set(critiques) - {"other"}):
            intent.kind = "feedback"
            intent.sentiment = "dislike" if negative else "like"
            return intent
        refining = bool(_REFINING.search(text) or _ZH_REFINING.search(text))
        # after a list, a critique or a bare constraint ("no horror", "only 90s") narrows it; a fresh genre
        # wish with no refining word ("comedies from the 90s", "something different: a western") starts anew
        fresh = set(critiques) <= {"other"} and (genres_in or collections) and not refs and not refining
        if has_list and not fresh and (critiques or (avoid and not liked) or _MORE_OF_THE_SAME.search(text) or
                                       (constraints and not liked and (not (genres_in or collections) or refining))):
            intent.kind = "refine"
            return intent
        if titles or constraints or request:
            return intent
        if _GREETING.search(text) or _ZH_GREETING.search(text):
            return Intent("chitchat")
        if not film_words and _QUESTION.search(text):
            return Intent("chitchat")  # "what is the capital of France?"
        if wish and self.known_words(wish):
            return intent  # "stories about friendship": a wish without a request word
        intent.unclear, intent.wish_text = True, ""  # the traditional recommender answers from the profile
        return intent

    @staticmethod
    def _asks_about(text: str, titles, refs) -> bool:
        if not (titles or refs):
            return False
        if _ASK.search(text) or _ZH_ASK.search(text):
            return True
        # "is Jaws scary?", "is #5 any good?": a yes/no question whose subject is the item
        return bool(re.match(r"\s*(is|was|does|did|has)\s+", text, re.I)) and text.rstrip().endswith("?") and (
            (titles and titles[0][1] == 1) or bool(re.match(r"\s*\w+\s+(#\s*\d|number \d|the \w+ one|that one|this one|it)\b",
                                                             text, re.I)))

    def known_words(self, text: str) -> bool:
        """Does `text` share a word of four or more letters with the catalog's own texts?"""
        if self._vocab is None:
            self._vocab = {w for it in self.catalog.items for w in normalize_title(it.text()).split() if len(w) >= 4}
        return any(w in self._vocab for w in text.split() if len(w) >= 4)

    @staticmethod
    def _ref_id(ref: int, context: ParseContext) -> str | None:
        return context.last_items[ref - 1] if 0 < ref <= len(context.last_items) else None

    def _wish(self, text: str, titles, soft: list[str]) -> tuple[str, str]:
        """Free-text wish left after titles, genres, years, references and filler are taken out."""
        norm = _norm(text)
        words = norm.split()
        keep = [True] * len(words)
        for _, start, end, _ in titles:
            for j in range(start, min(end, len(words))):
                keep[j] = False
        rest = " ".join(w for w, k in zip(words, keep) if k)
        rest = re.sub(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])", "", rest)  # Chinese back to words
        avoid = []
        for m in re.finditer(r"\b(?:less|fewer|not too|not so|without|no|too much)\s+(\w+(?:\s+\w+)?)", rest):
            phrase = " ".join(w for w in m.group(1).split() if w not in self.genre_words and w not in _COMMON)
            if phrase:
                avoid.append(phrase)
        rest = re.sub(r"\b(?:less|fewer|not too|not so|without|no|too much)\s+\w+(?:\s+(?:stuff|scenes|violence|gore))?", " ", rest)
        for word, genre in self.genre_words.items():
            if normalize_title(genre).startswith(word[:4]):  # "comedies" -> Comedy is fully said by the filter
                rest = re.sub(rf"\b{re.escape(word)}\b", " ", rest)
        rest = _BETWEEN.sub(" ", rest)
        rest = re.sub(r"\b(19|20)?\d0 ?s\b|\b(19|20)\d\d\b|\b(after|since|before|until|from|in)\b", " ", rest)
        rest = _REF.sub(" ", rest)
        rest = _FILLER.sub(" ", rest)
        rest = _NOT_A_WISH.sub(" ", rest)
        rest = re.sub(r"\b(recommendations?|suggestions?|watch|see|movie|film|show|genre|kind|type|please|thanks)\b", " ", rest)
        if _ZH.search(rest):
            rest, zh_avoid = self._zh_wish(rest)
            avoid += zh_avoid
        rest = re.sub(r"\s+", " ", rest).strip()
        if len(rest) < 3 and not (_ZH.search(rest) and len(rest) >= 2):
            rest = ""
        return rest, " ".join(dict.fromkeys(avoid + soft))

    def _zh_wish(self, rest: str) -> tuple[str, list[str]]:
        """The Chinese part of a wish without what the filters already say (genres, years, negations, requests)."""
        avoid = [m.group(1) for m in re.finditer(r"(?:别太|不要太|不太|不那么|少一?点)([\u3400-\u9fff]{2,4}?)(?=[的了吧呢啊]|$|\s|[^\u3400-\u9fff])", rest)]
        rest = re.sub(r"(?:别太|不要太|不太|不那么|少一?点)[\u3400-\u9fff]{2,4}?(?=[的了吧呢啊]|$|\s|[^\u3400-\u9fff])", " ", rest)
        rest = re.sub(_ZH_NEG + r"[\u3400-\u9fff]{0,3}?(?:片|电影|的)", " ", rest)
        english: list[str] = []
        for word in self.zh_genre_words:
            if word in rest and word in ZH_GENRE_SENSE and self.translate_wish:
                english.append(ZH_GENRE_SENSE[word])
            rest = rest.replace(word, " ")
        rest = _ZH_DECADE.sub(" ", rest)
        rest = re.sub(r"(?:19|20)?\d*\s*年\s*(以后|之后|后|以来|起|以前|之前|前)?|第\s*[一二两三四五六七八九十\d]+\s*[部个]?", " ", rest)
        rest = re.sub(r"推荐|给我|我想看|想看|我想|有没有|有什么|来几部|来一部|来点|找几部|找一部|几部|一部|一些|一点|电影|影片|片子|"
                      r"好看的?|经典的?|关于|类似的?|那种|风格|系列|三部曲|差不多|像|那样|一样|这样|之类|(?<!不)喜欢|爱看|但是|但|而且|还有|请|谢谢|吧|吗|呢|啊|了|的|片|部|点|我|你|要|也|和",
                      " ", rest)
        # query translation: the Chinese words a film wish is made of, in the English the catalog is written in
        for word, en in self._wish_words if self.translate_wish else ():
            if word in rest:
                english.append(en)
                rest = rest.replace(word, " ")
        avoid = [self.translate(a) for a in avoid] if self.translate_wish else avoid
        if english:  # untranslated scraps next to translated words are noise to an English embedder
            rest = re.sub(r"[\u3400-\u9fff]", " ", rest)
        rest = " ".join(english + rest.split())
        return re.sub(r"\s+", " ", rest).strip(), avoid

    def translate(self, zh: str) -> str:
        """Chinese wish words in English where the table knows them (the rest is kept as it is)."""
        out = []
        for word, en in self._wish_words:
            if word in zh:
                out.append(en)
                zh = zh.replace(word, " ")
        return " ".join(out + zh.split())


# ------------------------------------------------------------------ the LLM parser

class LLMParser:
    """The LLM proposes; the catalog and the rule parser check. Nothing unverified gets through."""

    name = "llm"

    def __init__(self, catalog: Catalog, llm, prompt: str, rules: RuleParser | None = None, consult: str = "always"):
        """`consult="unclear"` asks the LLM only when the rules found the message unclear: the only case in which
        its kind is used at all, so the turn pays seconds of generation only where the LLM can change the answer."""
        if consult not in ("always", "unclear"):
            raise ValueError(f"consult must be 'always' or 'unclear', not {consult!r}")
        self.catalog = catalog
        self.llm = llm
        self.prompt = prompt
        self.rules = rules or RuleParser(catalog)
        self.consult = consult
        self.failures = 0

    max_tokens = 96  # the JSON answer is ~40 tokens; a bound keeps a rambling model from costing seconds

    def parse(self, message: str, context: ParseContext | None = None) -> Intent:
        base = self.rules.parse(message, context)
        if self.consult == "unclear" and not base.unclear:
            return base
        try:
            raw = self.llm.generate(
                [{"role": "system", "content": self.prompt}, {"role": "user", "content": message}],
                schema=INTENT_SCHEMA, max_tokens=self.max_tokens,
            )
            proposal = json.loads(_first_json_object(raw))
        except Exception:  # dead backend, timeout, junk: the rule result stands
            self.failures += 1
            return base
        return self.merge(base, proposal, message, context)

    def merge(self, base: Intent, proposal: dict, message: str, context: ParseContext | None = None) -> Intent:
        if not isinstance(proposal, dict):
            return base
        base.source = "llm+rules"
        kind = proposal.get("kind") or proposal.get("intent")
        has_list = bool(context and context.last_items)
        # The rules are precise when they fire on clear cues; the LLM decides only what they left unclear, and
        # only with a kind the dialogue can act on: no feedback or refinement without a list to point at.
        if base.unclear and isinstance(kind, str) and kind in KINDS and (has_list or kind not in ("refine", "feedback")) \
                and kind != "ask_about_item":
            base.kind, base.unclear = kind, False
            if kind in ("chitchat", "goodbye"):
                return Intent(kind, source="llm+rules")
        if base.kind not in ("recommend", "refine", "feedback"):
            return base  # small talk, goodbyes and questions carry no wishes for the LLM to add
        norm_msg = normalize_title(message)
        for slot in ("liked", "disliked"):
            for title in _as_list(proposal.get(slot)):
                item_id = self._grounded_title(str(title), norm_msg)
                if item_id and item_id not in base.liked and item_id not in base.disliked:
                    getattr(base, slot).append(item_id)
        vocab = {g.lower(): g for g in self.catalog.genres}
        for slot in ("genres_in", "genres_out"):
            for g in _as_list(proposal.get(slot)):
                genre = vocab.get(str(g).lower())
                said = genre and re.search(rf"\b{re.escape(normalize_title(genre))}\b", norm_msg)
                if said and genre not in base.genres_in + base.genres_out:
                    getattr(base, slot).append(genre)
        return base

    def _grounded_title(self, title: str, norm_msg: str) -> str | None:
        norm = normalize_title(title)
        if len(norm) < 2 or f" {norm} " not in f" {norm_msg} ":  # the message must really say it
            return None
        positions = self.catalog.titles.exact(title)
        return self.catalog.items[positions[0]].item_id if positions else None


INTENT_SCHEMA = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": list(KINDS)},
        "liked": {"type": "array", "items": {"type": "string"}},
        "disliked": {"type": "array", "items": {"type": "string"}},
        "genres_in": {"type": "array", "items": {"type": "string"}},
        "genres_out": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["kind"],
}


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _first_json_object(text: str) -> str:
    start = text.find("{")
    end = text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the model output")
    return text[start:end + 1]
