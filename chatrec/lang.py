"""Languages: which language a message is in, and the words chatrec answers with.

- `detect(text)`: "zh" or "en" by a deterministic count (no model, microseconds). Chinese characters are counted
  as words of two characters each; a message is Chinese when they make up at least 30 % of its words, or when it
  has Chinese and nothing else. A message with no letters at all ("2", "👍", "/like 2") says nothing: `None`,
  and the session keeps the language it had.
- `t(key, lang, **kw)`: a reply string from `MESSAGES` in English or Simplified Chinese.
- `genre_label(genre, lang)`, `join(words, lang)`: catalog genres and lists as a reader of that language writes them.
- `UI`: the web app's interface strings for `gr.I18n` (the browser's locale picks them).
"""
from __future__ import annotations

import re

LANGS = ("en", "zh")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]{2,}")


def detect(text: str) -> str | None:
    """'zh', 'en', or None when the text has no letters to go by."""
    if not isinstance(text, str):
        return None
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    if cjk == 0:
        return "en" if latin else None
    if latin == 0:
        return "zh"
    return "zh" if (cjk / 2) >= 0.3 * (cjk / 2 + latin) else "en"


def from_accept_language(header: str | None) -> str:
    """The browser's preferred language (an Accept-Language header) as 'zh' or 'en'."""
    for part in (header or "").split(","):
        code = part.split(";")[0].strip().lower()
        if code.startswith("zh"):
            return "zh"
        if code and code != "*":
            return "en"
    return "en"


# Traditional -> Simplified for the characters film requests use (电影 类型 请求 人名), one to one: the parser's
# tables are Simplified, and 推薦幾部動畫電影 should read like 推荐几部动画电影. Not a full converter (regional
# titles such as 神隱少女 are not translated), and replies stay in Simplified Chinese.
_T2S_FROM = ('電劇動畫愛戀戰爭懸紀錄險驚歡薦幾類來這個們兒見說話請給點麼還沒與頭樣覺讓從對開關應該過時間長實現發東車馬鳥魚龍門問題聽讀'
    '寫學習國際經濟環機會議論認識設計語變體場節萬歲歷歐亞韓華盜夢貓殭屍鬥劍俠黨幫謀殺綁監獄擊賽運籃網遊戲腦絡飛艦導員紅綠藍黃'
    '為無後產隊眾帶邊嗎囉誰裡裏係繫紙張書報聲響臉髮鬍鬚醫藥術藝樂將軍槍彈惡靈異聖誕陽陰雲視錢銀貨賣買價質種區縣鄉鎮島灣嶼齊齋'
    '圖團園圓親憂傷淚輕鬆溫緊懼強壯勝敗領總統權輛輪駕駛駭資訊號喚魘別討厭適於鯊謝宮駿諾蘭爾庫鋼鐵復聯臺難錯隻幣兩壞舊驗鐘麗偵'
    '記憶準備調換較處試謎鯨獅豬鴨蟲獸龜風搶竊賊騙師護專業極雜誌級軟義奮勵癮審辯證據紐約倫傳遺齣獨絕熱鬧屬歸氣漢詭誘濱灘廣闆掃'
    '膽嚇詛鄰寶尋礦陸貝殼蘋葉樹雞魯賓遜麥燈籠樓鳳錦繡綉蓋羅軌聞黴縮顧達獵盧纖維釣蝦蠍鷹鶴鷗鵝駱駝頓頻鏡額頸顏顯飄飯飲館餅餓饑'
    '養驅傑偉僅債儀億優儲')
_T2S_TO = ('电剧动画爱恋战争悬纪录险惊欢荐几类来这个们儿见说话请给点么还没与头样觉让从对开关应该过时间长实现发东车马鸟鱼龙门问题听读'
    '写学习国际经济环机会议论认识设计语变体场节万岁历欧亚韩华盗梦猫僵尸斗剑侠党帮谋杀绑监狱击赛运篮网游戏脑络飞舰导员红绿蓝黄'
    '为无后产队众带边吗啰谁里里系系纸张书报声响脸发胡须医药术艺乐将军枪弹恶灵异圣诞阳阴云视钱银货卖买价质种区县乡镇岛湾屿齐斋'
    '图团园圆亲忧伤泪轻松温紧惧强壮胜败领总统权辆轮驾驶骇资讯号唤魇别讨厌适于鲨谢宫骏诺兰尔库钢铁复联台难错只币两坏旧验钟丽侦'
    '记忆准备调换较处试谜鲸狮猪鸭虫兽龟风抢窃贼骗师护专业极杂志级软义奋励瘾审辩证据纽约伦传遗出独绝热闹属归气汉诡诱滨滩广板扫'
    '胆吓诅邻宝寻矿陆贝壳苹叶树鸡鲁宾逊麦灯笼楼凤锦绣绣盖罗轨闻霉缩顾达猎卢纤维钓虾蝎鹰鹤鸥鹅骆驼顿频镜额颈颜显飘饭饮馆饼饿饥'
    '养驱杰伟仅债仪亿优储')
_T2S = str.maketrans(_T2S_FROM, _T2S_TO)


def to_simplified(text: str) -> str:
    """Traditional Chinese characters in `text` as Simplified ones (other text unchanged)."""
    return text.translate(_T2S)


def norm_lang(lang: str | None) -> str:
    return lang if lang in LANGS else "en"


MESSAGES: dict[str, dict[str, str]] = {
    # chat turn guards
    "commands_help": {"en": "Commands: /like N, /dislike N, /seen N, /rate N STARS (1-5).",
                      "zh": "命令：/like N（喜欢）、/dislike N（不喜欢）、/seen N（看过）、/rate N 星数（1-5）。"},
    "rate_limited": {"en": "You're sending messages faster than {limit} a minute; please wait a few seconds and try again.",
                     "zh": "消息发得太快了（每分钟最多 {limit} 条），请稍等几秒再试。"},
    "not_text": {"en": "Please send your message as text.", "zh": "请用文字发送消息。"},
    "empty": {"en": "Tell me what you feel like watching, for example “something like Alien but less gory” or "
                    "“comedies from the 90s”.",
              "zh": "告诉我你想看什么，比如“像《异形》那样但别太血腥的”或者“九十年代的喜剧”。"},
    "too_long": {"en": "That message is {n:,} characters long; please keep it under {limit:,} characters.",
                 "zh": "这条消息有 {n:,} 个字符，请控制在 {limit:,} 个字符以内。"},
    "unreadable": {"en": "I couldn't read any text in that message. Tell me what you'd like to watch.",
                   "zh": "这条消息里没有我能读懂的文字。告诉我你想看什么吧。"},
    "llm_down": {"en": "(The language model isn't answering right now, so I'm using my built-in parser.)",
                 "zh": "（语言模型暂时没有响应，我先用内置的规则来理解你的话。）"},
    "goodbye": {"en": "Goodbye! Your likes and dislikes are saved for next time.",
                "zh": "再见！你的喜好已经保存，下次再来。"},
    "chitchat": {"en": "Hi! I recommend films from a catalog of {n:,} titles. Tell me a film you love, a genre, a "
                       "decade or a mood, e.g. “something like Alien but less gory”.",
                 "zh": "你好！我从 {n:,} 部电影的片库里为你推荐。告诉我一部你喜欢的电影、一种类型、一个年代或一种心情，"
                       "比如“像《异形》那样但别太血腥的”。"},
    # recommendations
    "nothing_found": {"en": "I found nothing in the catalog that fits all of that. Try loosening a constraint (a genre, "
                            "the years) or ask for something else.",
                      "zh": "片库里没有同时满足这些条件的电影。试着放宽一个条件（类型或年份），或者换个要求。"},
    "list_hint": {"en": "Tell me what you think (“I liked the second one”, “older”, “no horror”) or use /like N.",
                  "zh": "告诉我你的想法（“喜欢第二部”“老一点的”“不要恐怖片”“再来几部类似的”），或者用 /like N。"},
    "unclear_profile": {"en": "I'm not sure what you meant, so here are picks based on your profile",
                        "zh": "我没太明白你的意思，先根据你的喜好推荐这些"},
    "unclear_popular": {"en": "I'm not sure what you meant, so here are some popular, well-liked picks",
                        "zh": "我没太明白你的意思，先推荐几部受欢迎、口碑好的电影"},
    "picks": {"en": "Here are some picks", "zh": "为你挑选了这些"},
    "unknown_words": {"en": "(I don't know the words {words} yet, so I left them out.) ",
                      "zh": "（我还不认识{words}，先按其他条件推荐。）"},
    "picks_for_you": {"en": "Here are some picks for you", "zh": "为你挑选了这些电影"},
    "lead_like": {"en": "like {titles}", "zh": "类似{titles}"},
    "lead_no": {"en": "no {genres}", "zh": "不要{genres}"},
    "lead_less": {"en": "less {words}", "zh": "少一点{words}"},
    "lead_from": {"en": "films by {names}", "zh": "{names}的作品"},
    "relaxed": {"en": ". Nothing matched everything, so I loosened {what}",
                "zh": "。没有完全符合的，所以我放宽了{what}"},
    "relax_genres_any": {"en": "“all of those genres” to “any of them”", "zh": "类型条件（从“全部符合”改为“任一符合”）"},
    "relax_years": {"en": "the year range", "zh": "年份范围"},
    "relax_genres": {"en": "the genre filter", "zh": "类型限制"},
    "relax_within": {"en": "“only their films”", "zh": "“只看他们的作品”"},
    # questions about an item
    "which_film": {"en": "Which film do you mean? Name it, or say “tell me about #2” (the last list has {n}).",
                   "zh": "你指的是哪一部？说出片名，或者说“介绍一下第二部”（上一份推荐有 {n} 部）。"},
    "about_genres": {"en": "Genres: {genres}.", "zh": "类型：{genres}。"},
    "about_tags": {"en": "Tags: {tags}.", "zh": "标签：{tags}。"},
    "about_rating": {"en": "Rated {mean:.1f}/5 by {count} people.", "zh": "{count} 人评分，平均 {mean:.1f}/5。"},
    "about_no_people": {"en": "(The catalog doesn't list directors or cast, so I can't tell you who made it.)",
                        "zh": "（片库里没有导演和演员信息，所以我没法告诉你是谁拍的。）"},
    "about_overview_en": {"en": "", "zh": "剧情简介（英文）："},
    # feedback
    "which_one": {"en": "Which one? Say e.g. “I liked the second one”, or use /like 2 or /dislike 3.",
                  "zh": "哪一部？比如说“喜欢第二部”，或者用 /like 2、/dislike 3。"},
    "noted_text": {"en": "Noted: {verb} {items}. Ask for more whenever you like.",
                   "zh": "记下了：{verb}{items}。想看更多随时告诉我。"},
    "noted_then": {"en": "Noted: {verb} {items}.", "zh": "记下了：{verb}{items}。"},
    "verb_like": {"en": "you like", "zh": "你喜欢"},
    "verb_dislike": {"en": "you don't like", "zh": "你不喜欢"},
    "verb_seen": {"en": "you've seen", "zh": "你看过"},
    "unknown_feedback": {"en": "Unknown feedback {kind!r}: use like, dislike, seen or rating.",
                         "zh": "无法识别的反馈 {kind!r}：请用 like、dislike、seen 或 rating。"},
    "no_list": {"en": "There is no list to give feedback on yet: ask me for something first.",
                "zh": "还没有推荐列表可以反馈，先告诉我你想看什么吧。"},
    "no_item": {"en": "There is no item {pos} in the last list; it has {n} item{s} (1–{n}).",
                "zh": "上一份推荐里没有第 {pos} 部；它只有 {n} 部（1–{n}）。"},
    "rating_range": {"en": "A rating is a number of stars from 1 to 5, e.g. /rate 2 4.",
                     "zh": "评分是 1 到 5 颗星，比如 /rate 2 4。"},
    "already": {"en": "Already noted: {item} is in your {kind}s.", "zh": "已经记下了：{item} 已在你的{kind_zh}列表里。"},
    "save_failed": {"en": "Sorry, I could not save that: {exc}", "zh": "抱歉，没能保存：{exc}"},
    "save_failed_retry": {"en": "Sorry, I could not save that feedback; please try again.",
                          "zh": "抱歉，这条反馈没能保存，请再试一次。"},
    "rated": {"en": "Saved: {item}, {stars}/5.", "zh": "已保存：{item}，{stars}/5。"},
    "liked": {"en": "Noted: you like {item}. I'll look for more like it.", "zh": "记下了：你喜欢{item}。我会多找类似的。"},
    "disliked": {"en": "Got it: {item} won't come back, and I'll steer away from it.",
                 "zh": "明白：{item} 不会再出现，我也会避开类似的。"},
    "seen": {"en": "Noted: you've seen {item}; I won't suggest it again.", "zh": "记下了：你看过{item}，不会再推荐它。"},
    # critiques, profile, errors
    "unknown_critique": {"en": "Unknown critique {name!r}: use one of {names}.", "zh": "无法识别的调整 {name!r}：可用 {names}。"},
    "no_list_refine": {"en": "There is no list to refine yet: ask me for something first.",
                       "zh": "还没有推荐列表可以调整，先告诉我你想看什么吧。"},
    "which_item": {"en": "Which item? Give a number from 1 to {n}, e.g. “more like #2”.",
                   "zh": "哪一部？给一个 1 到 {n} 的数字，比如“更像第二部”。"},
    "not_in_profile": {"en": "That item is not in your profile.", "zh": "这部电影不在你的档案里。"},
    "removed": {"en": "Removed {item} from your profile.", "zh": "已从你的档案中移除{item}。"},
    "forgot": {"en": "Done: I deleted your profile and {n} feedback events. We start from scratch.",
               "zh": "完成：已删除你的档案和 {n} 条反馈记录，我们从头开始。"},
    "onboard_none": {"en": "I couldn't find those titles in the catalog. Try the exact title, or pick a few genres.",
                     "zh": "片库里找不到这些片名。试试准确的片名，或者选几个类型。"},
    "cant_now": {"en": "Sorry, I can't do that right now: {exc}", "zh": "抱歉，现在做不到：{exc}"},
    "oops": {"en": "Sorry, something went wrong on my side. Nothing you told me was lost; please try again.",
             "zh": "抱歉，我这边出了点问题。你告诉我的内容都没有丢失，请再试一次。"},
    # web app (values the server sends, so gr.I18n cannot translate them)
    "greeting": {"en": "Hi! Tell me what you feel like watching, or pick a few genres under “New here?”.",
                 "zh": "你好！告诉我你想看什么，或者在“第一次来？”里选几个类型。"},
    "welcome_back": {"en": "Welcome back! I remember what you liked. What are you in the mood for?",
                     "zh": "欢迎回来！我记得你喜欢什么。今天想看点什么？"},
    "ask_first": {"en": "Ask me for something first.", "zh": "先告诉我你想看什么吧。"},
    "choose_entry": {"en": "Choose an entry of your profile to remove.", "zh": "请选择要从档案中移除的条目。"},
    "vote_up": {"en": "Thanks! Glad that helped.", "zh": "谢谢！很高兴能帮上忙。"},
    "vote_down": {"en": "Sorry about that. Tell me what to change (“older”, “no horror”, “more like #2”) or 👎 an item.",
                  "zh": "抱歉。告诉我要怎么改（“老一点的”“不要恐怖片”“更像第二部”），或者给某一部点 👎。"},
    "status_like": {"en": "👍 You liked this", "zh": "👍 你喜欢这部"},
    "status_dislike": {"en": "👎 Won't come back", "zh": "👎 不会再推荐"},
    "status_seen": {"en": "👁 Seen — won't come back", "zh": "👁 看过了，不会再推荐"},
    "status_rating": {"en": "★ You rated it {stars}/5", "zh": "★ 你打了 {stars}/5"},
    "why": {"en": "Why", "zh": "推荐理由"},
    "nothing_yet": {"en": "nothing yet", "zh": "暂无"},
    "none_yet": {"en": "none yet", "zh": "暂无"},
    "not_known_yet": {"en": "not known yet", "zh": "暂不清楚"},
    "none": {"en": "none", "zh": "无"},
    "p_liked": {"en": "Liked", "zh": "喜欢"},
    "p_disliked": {"en": "Disliked", "zh": "不喜欢"},
    "p_seen": {"en": "Seen", "zh": "看过"},
    "p_ratings": {"en": "Ratings", "zh": "评分"},
    "p_genres": {"en": "Favourite genres", "zh": "偏爱的类型"},
    "p_critiques": {"en": "Recent critiques", "zh": "最近的调整"},
    "crit_newer": {"en": "Newer", "zh": "新一点"},
    "crit_older": {"en": "Older", "zh": "老一点"},
    "crit_lighter": {"en": "Lighter", "zh": "轻松一点"},
    "crit_darker": {"en": "Darker", "zh": "沉重一点"},
    "crit_more_like": {"en": "More like", "zh": "更像"},
    "crit_less_like": {"en": "Less like", "zh": "别太像"},
    "just_show": {"en": "Just show me something", "zh": "随便推荐点什么"},
}

_KIND_ZH = {"like": "喜欢", "dislike": "不喜欢", "seen": "看过", "rating": "评分"}


def t(key: str, lang: str | None = "en", **kw) -> str:
    """The message `key` in `lang` ('en' or 'zh'), formatted with `kw`; English when there is no translation."""
    entry = MESSAGES[key]
    lang = norm_lang(lang)
    if "kind" in kw and "kind_zh" not in kw:
        kw["kind_zh"] = _KIND_ZH.get(str(kw["kind"]), str(kw["kind"]))
    text = entry.get(lang) or entry["en"]
    return text.format(**kw) if kw else text


GENRES_ZH = {
    "Action": "动作", "Adventure": "冒险", "Animation": "动画", "Children": "儿童", "Comedy": "喜剧", "Crime": "犯罪",
    "Documentary": "纪录片", "Drama": "剧情", "Fantasy": "奇幻", "Film-Noir": "黑色电影", "Horror": "恐怖",
    "IMAX": "IMAX", "Musical": "歌舞", "Mystery": "悬疑", "Romance": "爱情", "Sci-Fi": "科幻", "Thriller": "惊悚",
    "War": "战争", "Western": "西部",
}


def genre_label(genre: str, lang: str | None) -> str:
    """A catalog genre as shown to a reader of `lang` (other catalogs' own genre names pass through)."""
    return GENRES_ZH.get(genre, genre) if lang == "zh" else genre


def join(words: list[str], lang: str | None, conj: str = "and") -> str:
    """'a, b and c' / 'a、b和c' (conj 'or': 'a, b or c' / 'a、b或c')."""
    words = [w for w in words if w]
    if lang == "zh":
        word = "或" if conj == "or" else "和"
        return words[0] if len(words) == 1 else "、".join(words[:-1]) + word + words[-1] if words else ""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + f" {conj} " + words[-1]


# ---------------------------------------------------------------- web app interface strings (gr.I18n)

UI: dict[str, dict[str, str]] = {
    "en": {
        "intro": "## 🎬 chatrec\nTell me what you feel like watching. I pick from {n} films, say why each fits, and "
                 "learn from every 👍, 👎 and critique.",
        "chat": "Chat", "placeholder": "e.g. something like Alien but less gory", "send": "Send", "try": "Try",
        "recommendations": "### Recommendations",
        "cards_empty": "*Your picks appear here as cards: 👍, 👎, seen, rate, or ask for more like one.*",
        "like": "👍 Like", "dislike": "👎 Dislike", "seen": "Seen it", "more_like": "More like this",
        "less_like": "Less like this", "newer": "Newer", "older": "Older", "lighter": "Lighter", "darker": "Darker",
        "your_profile": "Your profile", "remove_entry": "Remove an entry", "remove": "Remove",
        "export": "Export JSON", "forget": "Forget me", "your_data": "Your data",
        "new_here": "New here? Pick a few", "genres_you_enjoy": "Genres you enjoy",
        "films_you_love": "Films you love (optional)", "films_placeholder": "e.g. Alien, Toy Story",
        "start": "Start with these", "settings": "Settings", "n_picks": "Number of picks", "diversity": "Diversity",
        "diversity_info": "0: the closest matches; 1: as varied as possible", "novelty": "Novelty",
        "novelty_info": "0: popular films help; 1: favour lesser-known films", "use_llm": "Use the language model",
        "use_llm_none": "Use the language model (none configured: rules and templates)",
        "profile_empty": "**Liked:** nothing yet", "rate": "Rate…",
    },
    "zh": {
        "intro": "## 🎬 chatrec\n告诉我你想看什么。我从 {n} 部电影里挑选，说明每部为什么适合你，并从每一次 👍、👎 和调整中学习。",
        "chat": "聊天", "placeholder": "比如：像《千与千寻》那样的动画", "send": "发送", "try": "试试",
        "recommendations": "### 推荐",
        "cards_empty": "*推荐会以卡片显示在这里：👍、👎、看过、评分，或者要更多类似的。*",
        "like": "👍 喜欢", "dislike": "👎 不喜欢", "seen": "看过", "more_like": "更多类似的",
        "less_like": "少来这种", "newer": "新一点", "older": "老一点", "lighter": "轻松一点", "darker": "沉重一点",
        "your_profile": "我的档案", "remove_entry": "移除一条", "remove": "移除",
        "export": "导出 JSON", "forget": "忘记我", "your_data": "你的数据",
        "new_here": "第一次来？选几个", "genres_you_enjoy": "喜欢的类型",
        "films_you_love": "喜欢的电影（可选）", "films_placeholder": "比如：千与千寻, 玩具总动员",
        "start": "就从这些开始", "settings": "设置", "n_picks": "推荐数量", "diversity": "多样性",
        "diversity_info": "0：最接近的；1：尽量多样", "novelty": "新奇度",
        "novelty_info": "0：热门电影优先；1：偏向小众电影", "use_llm": "使用语言模型",
        "use_llm_none": "使用语言模型（未配置：使用规则和模板）",
        "profile_empty": "**喜欢：** 暂无", "rate": "评分…",
    },
}
