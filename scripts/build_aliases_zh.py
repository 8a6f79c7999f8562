"""Builds data/movielens/aliases_zh.csv: Chinese (and English) names of films, people and series -> MovieLens ids.

    .venv/bin/python scripts/build_aliases_zh.py [--check]

Provenance: the tables (film titles in chatrec/understand/vocab/zh_titles.csv, people and series below) were
written by hand by the chatrec developers from general knowledge: the usual mainland-China release titles of
well-known films, the Chinese names of directors, actors and studios, and which films each of them made (directed; for actors, starred in; for studios, produced). Every film is resolved here
against the bundled MovieLens catalog by its English title (and year where titles repeat); a name that does not
resolve stops the build, so the shipped file holds only films that are in the catalog. Nothing is downloaded.
Rows: key (canonical English name), kind (title | person | series), zh (Chinese names, '|'-separated), en (English
names that also refer to it, '|'-separated), movie_id, title, year.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatrec.catalog import load_catalog  # noqa: E402
from chatrec.understand.vocab import read_zh_titles  # noqa: E402

OUT = ROOT / "data" / "movielens" / "aliases_zh.csv"

# Chinese names of films: chatrec/understand/vocab/zh_titles.csv, which the rule parser also reads (its zh_fallback
# names link by title alone on catalogs this table does not cover). Titles that are also everyday words (功夫 Kung
# Fu Hustle, 英雄 Hero, 活着 To Live, 飘 Gone with the Wind, 大鱼 Big Fish) are left out: "功夫电影" asks for kung fu
# films, not for one film. Rows here: (canonical English title, year or None, Chinese names, English names).
TITLES = [(r.title, r.year, "|".join(r.zh_fallback + r.zh_more), "|".join(r.en)) for r in read_zh_titles()]

# (kind, canonical key, Chinese names, English names, [(title, year)])
GROUPS = [
    ("person", "Hayao Miyazaki", "宫崎骏|宫崎駿|宫崎峻", "Hayao Miyazaki|Miyazaki", [
        ("Nausicaä of the Valley of the Wind", 1984), ("Laputa: Castle in the Sky", 1986), ("My Neighbor Totoro", 1988),
        ("Kiki's Delivery Service", 1989), ("Porco Rosso", 1992), ("Princess Mononoke", 1997), ("Spirited Away", 2001),
        ("Howl's Moving Castle", 2004), ("Ponyo", 2008), ("The Wind Rises", 2013),
        ("Lupin III: The Castle Of Cagliostro", 1979)]),
    ("person", "Studio Ghibli", "吉卜力|吉卜力工作室|吉普力", "Studio Ghibli|Ghibli", [
        ("Nausicaä of the Valley of the Wind", 1984), ("Laputa: Castle in the Sky", 1986), ("My Neighbor Totoro", 1988),
        ("Grave of the Fireflies", 1988), ("Kiki's Delivery Service", 1989), ("Only Yesterday", 1991),
        ("Porco Rosso", 1992), ("Pom Poko", 1994), ("Whisper of the Heart", 1995), ("Princess Mononoke", 1997),
        ("Spirited Away", 2001), ("The Cat Returns", 2002),
        ("Howl's Moving Castle", 2004), ("Ponyo", 2008), ("The Secret World of Arrietty", 2010),
        ("From Up on Poppy Hill", 2011), ("The Wind Rises", 2013), ("The Tale of Princess Kaguya", 2013)]),
    ("person", "Christopher Nolan", "诺兰|克里斯托弗·诺兰|克里斯托弗诺兰", "Christopher Nolan|Nolan", [
        ("Following", 1998), ("Memento", 2000), ("Insomnia", 2002), ("Batman Begins", 2005), ("The Prestige", 2006),
        ("The Dark Knight", 2008), ("Inception", 2010), ("The Dark Knight Rises", 2012), ("Interstellar", 2014),
        ("Dunkirk", 2017)]),
    ("person", "Steven Spielberg", "斯皮尔伯格|斯皮尔博格|史蒂文·斯皮尔伯格|史匹柏", "Steven Spielberg|Spielberg", [
        ("Duel", 1971), ("Jaws", 1975), ("Close Encounters of the Third Kind", 1977), ("1941", 1979),
        ("Raiders of the Lost Ark", 1981), ("E.T. the Extra-Terrestrial", 1982), ("Indiana Jones and the Temple of Doom", 1984),
        ("The Color Purple", 1985), ("Empire of the Sun", 1987), ("Indiana Jones and the Last Crusade", 1989),
        ("Always", 1989), ("Hook", 1991), ("Jurassic Park", 1993), ("Schindler's List", 1993),
        ("The Lost World: Jurassic Park", 1997), ("Amistad", 1997), ("Saving Private Ryan", 1998),
        ("A.I. Artificial Intelligence", 2001), ("Minority Report", 2002), ("Catch Me If You Can", 2002),
        ("The Terminal", 2004), ("War of the Worlds", 2005), ("Munich", 2005),
        ("Indiana Jones and the Kingdom of the Crystal Skull", 2008), ("The Adventures of Tintin", 2011),
        ("War Horse", 2011), ("Lincoln", 2012), ("Bridge of Spies", 2015), ("The BFG", 2016), ("The Post", 2017),
        ("Ready Player One", None)]),
    ("person", "Quentin Tarantino", "昆汀|昆汀·塔伦蒂诺|塔伦蒂诺|昆汀塔伦蒂诺", "Quentin Tarantino|Tarantino", [
        ("Reservoir Dogs", 1992), ("Pulp Fiction", 1994), ("Jackie Brown", 1997), ("Kill Bill: Vol. 1", 2003),
        ("Kill Bill: Vol. 2", 2004), ("Death Proof", 2007), ("Inglourious Basterds", 2009), ("Django Unchained", 2012),
        ("The Hateful Eight", 2015)]),
    ("person", "Stanley Kubrick", "库布里克|斯坦利·库布里克|库布力克", "Stanley Kubrick|Kubrick", [
        ("The Killing", 1956), ("Paths of Glory", 1957), ("Spartacus", 1960), ("Lolita", 1962),
        ("Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb", 1964), ("2001: A Space Odyssey", 1968),
        ("A Clockwork Orange", 1971), ("Barry Lyndon", 1975), ("The Shining", 1980), ("Full Metal Jacket", 1987),
        ("Eyes Wide Shut", 1999)]),
    ("person", "Alfred Hitchcock", "希区柯克|希治阁|阿尔弗雷德·希区柯克", "Alfred Hitchcock|Hitchcock", [
        ("The 39 Steps", 1935), ("The Lady Vanishes", 1938), ("Rebecca", 1940), ("Foreign Correspondent", 1940),
        ("Suspicion", 1941), ("Saboteur", 1942), ("Shadow of a Doubt", 1943), ("Lifeboat", 1944), ("Spellbound", 1945),
        ("Notorious", 1946), ("Rope", 1948), ("Strangers on a Train", 1951), ("Dial M for Murder", 1954),
        ("Rear Window", 1954), ("To Catch a Thief", 1955), ("The Trouble with Harry", 1955),
        ("The Man Who Knew Too Much", 1956), ("Vertigo", 1958), ("North by Northwest", 1959), ("Psycho", 1960),
        ("The Birds", 1963), ("Marnie", 1964), ("Torn Curtain", 1966), ("Frenzy", 1972), ("Family Plot", 1976)]),
    ("person", "James Cameron", "卡梅隆|詹姆斯·卡梅隆|卡梅伦|詹姆斯·卡梅伦", "James Cameron|Cameron", [
        ("The Terminator", 1984), ("Aliens", 1986), ("The Abyss", 1989), ("Terminator 2: Judgment Day", 1991),
        ("True Lies", 1994), ("Titanic", 1997), ("Avatar", 2009)]),
    ("person", "Ridley Scott", "雷德利·斯科特|雷德利斯科特|斯科特", "Ridley Scott", [
        ("Alien", 1979), ("Blade Runner", 1982), ("Legend", 1985), ("Thelma & Louise", 1991), ("1492: Conquest of Paradise", 1992),
        ("White Squall", 1996), ("G.I. Jane", 1997), ("Gladiator", 2000), ("Hannibal", 2001), ("Black Hawk Down", 2001),
        ("Matchstick Men", 2003), ("Kingdom of Heaven", 2005), ("American Gangster", 2007), ("Body of Lies", 2008),
        ("Robin Hood", 2010), ("Prometheus", 2012), ("Exodus: Gods and Kings", 2014), ("The Martian", 2015),
        ("Alien: Covenant", 2017)]),
    ("person", "David Fincher", "大卫·芬奇|芬奇|大卫芬奇", "David Fincher|Fincher", [
        ("Alien³", 1992), ("Seven", 1995), ("The Game", 1997), ("Fight Club", 1999), ("Panic Room", 2002),
        ("Zodiac", 2007), ("The Curious Case of Benjamin Button", 2008), ("The Social Network", 2010),
        ("The Girl with the Dragon Tattoo", 2011), ("Gone Girl", 2014)]),
    ("person", "Tim Burton", "蒂姆·伯顿|伯顿|蒂姆伯顿", "Tim Burton|Burton", [
        ("Pee-wee's Big Adventure", 1985), ("Beetlejuice", 1988), ("Batman", 1989), ("Edward Scissorhands", 1990),
        ("Batman Returns", 1992), ("Ed Wood", 1994), ("Mars Attacks!", 1996), ("Sleepy Hollow", 1999),
        ("Planet of the Apes", 2001), ("Big Fish", 2003), ("Charlie and the Chocolate Factory", 2005),
        ("Corpse Bride", 2005), ("Sweeney Todd: The Demon Barber of Fleet Street", 2007), ("Alice in Wonderland", 2010),
        ("Dark Shadows", 2012), ("Frankenweenie", 2012), ("Big Eyes", 2014),
        ("Miss Peregrine's Home for Peculiar Children", 2016)]),
    ("person", "Peter Jackson", "彼得·杰克逊|彼得杰克逊", "Peter Jackson", [
        ("Bad Taste", 1987), ("Dead Alive", 1992), ("Heavenly Creatures", 1994), ("The Frighteners", 1996),
        ("The Lord of the Rings: The Fellowship of the Ring", 2001), ("The Lord of the Rings: The Two Towers", 2002),
        ("The Lord of the Rings: The Return of the King", 2003), ("King Kong", 2005), ("The Lovely Bones", 2009),
        ("The Hobbit: An Unexpected Journey", 2012), ("The Hobbit: The Desolation of Smaug", 2013),
        ("The Hobbit: The Battle of the Five Armies", 2014)]),
    ("person", "Martin Scorsese", "马丁·斯科塞斯|斯科塞斯|马丁·西科塞斯", "Martin Scorsese|Scorsese", [
        ("Mean Streets", 1973), ("Taxi Driver", 1976), ("Raging Bull", 1980), ("The King of Comedy", 1983),
        ("After Hours", 1985), ("The Color of Money", 1986), ("The Last Temptation of Christ", 1988), ("Goodfellas", 1990),
        ("Cape Fear", 1991), ("The Age of Innocence", 1993), ("Casino", 1995), ("Kundun", 1997),
        ("Bringing Out the Dead", 1999), ("Gangs of New York", 2002), ("The Aviator", 2004), ("The Departed", 2006),
        ("Shutter Island", 2010), ("Hugo", 2011), ("The Wolf of Wall Street", 2013), ("Silence", 2016)]),
    ("person", "Coen brothers", "科恩兄弟|科恩", "Coen brothers|Coen Brothers|the Coens|Coens", [
        ("Blood Simple", 1984), ("Raising Arizona", 1987), ("Miller's Crossing", 1990), ("Barton Fink", 1991),
        ("The Hudsucker Proxy", 1994), ("Fargo", 1996), ("The Big Lebowski", 1998), ("O Brother, Where Art Thou?", 2000),
        ("The Man Who Wasn't There", 2001), ("Intolerable Cruelty", 2003), ("The Ladykillers", 2004),
        ("No Country for Old Men", 2007), ("Burn After Reading", 2008), ("A Serious Man", 2009), ("True Grit", 2010),
        ("Inside Llewyn Davis", 2013), ("Hail, Caesar!", 2016)]),
    ("person", "Wes Anderson", "韦斯·安德森|韦斯安德森|安德森", "Wes Anderson", [
        ("Bottle Rocket", 1996), ("Rushmore", 1998), ("The Royal Tenenbaums", 2001), ("The Life Aquatic with Steve Zissou", 2004),
        ("The Darjeeling Limited", 2007), ("Fantastic Mr. Fox", 2009), ("Moonrise Kingdom", 2012),
        ("The Grand Budapest Hotel", 2014), ("Isle of Dogs", 2018)]),
    ("person", "Ang Lee", "李安", "Ang Lee", [
        ("Pushing Hands", 1992), ("The Wedding Banquet", 1993), ("Eat Drink Man Woman", 1994), ("Sense and Sensibility", 1995),
        ("The Ice Storm", 1997), ("Ride with the Devil", 1999), ("Crouching Tiger, Hidden Dragon", 2000), ("Hulk", 2003),
        ("Brokeback Mountain", 2005), ("Lust, Caution", 2007), ("Taking Woodstock", 2009), ("Life of Pi", 2012)]),
    ("person", "Wong Kar-wai", "王家卫", "Wong Kar-wai|Wong Kar Wai", [
        ("Days of Being Wild", 1990), ("Chungking Express", 1994), ("Ashes of Time", 1994), ("Fallen Angels", 1995),
        ("Happy Together", 1997), ("In the Mood For Love", 2000), ("2046", 2004), ("My Blueberry Nights", 2007),
        ("The Grandmaster", 2013)]),
    ("person", "Zhang Yimou", "张艺谋", "Zhang Yimou", [
        ("Red Sorghum", 1987), ("Ju Dou", 1990), ("Raise the Red Lantern", 1991),
        ("To Live", 1994), ("Shanghai Triad", 1995), ("Not One Less", 1999), ("The Road Home", 1999), ("Hero", 2002),
        ("House of Flying Daggers", 2004), ("Curse of the Golden Flower", 2006)]),
    ("person", "Stephen Chow", "周星驰|星爷", "Stephen Chow", [
        ("Shaolin Soccer", 2001), ("Kung Fu Hustle", 2004),
        ("Journey to the West: Conquering the Demons", 2013)]),
    ("person", "Jackie Chan", "成龙", "Jackie Chan", [
        ("Drunken Master", 1978), ("Project A", 1983), ("Police Story", 1985), ("Armour of God", 1987),
        ("Police Story 3: Supercop", 1992), ("The Legend of Drunken Master", 1994), ("Rumble in the Bronx", 1995),
        ("First Strike", 1996), ("Mr. Nice Guy", 1997), ("Rush Hour", 1998), ("Who Am I?", 1998), ("Shanghai Noon", 2000),
        ("Rush Hour 2", 2001), ("The Accidental Spy", 2001), ("The Tuxedo", 2002), ("Shanghai Knights", 2003),
        ("The Medallion", 2003), ("Around the World in 80 Days", 2004), ("New Police Story", 2004), ("Rush Hour 3", 2007),
        ("The Forbidden Kingdom", 2008), ("The Karate Kid", 2010)]),
    ("person", "Bruce Lee", "李小龙", "Bruce Lee", [
        ("The Big Boss", 1971), ("Fist of Fury", 1972), ("Way of the Dragon", 1972), ("Enter the Dragon", 1973),
        ("Game of Death", 1978)]),
    ("person", "John Woo", "吴宇森", "John Woo", [
        ("A Better Tomorrow", 1986), ("The Killer", 1989), ("Bullet in the Head", 1990), ("Hard Boiled", 1992),
        ("Hard Target", 1993), ("Broken Arrow", 1996), ("Face/Off", 1997), ("Mission: Impossible II", 2000),
        ("Windtalkers", 2002), ("Paycheck", 2003), ("Red Cliff", 2008)]),
    ("person", "Akira Kurosawa", "黑泽明", "Akira Kurosawa|Kurosawa", [
        ("Stray Dog", 1949), ("Rashomon", 1950), ("Ikiru", 1952), ("Seven Samurai", 1954),
        ("Throne of Blood", 1957), ("The Hidden Fortress", 1958), ("Yojimbo", 1961), ("Sanjuro", 1962),
        ("High and Low", 1963), ("Red Beard", 1965), ("Dersu Uzala", 1975), ("Kagemusha", 1980), ("Ran", 1985),
        ("Dreams", 1990)]),
    ("person", "Satoshi Kon", "今敏", "Satoshi Kon", [
        ("Perfect Blue", 1997), ("Millennium Actress", 2001), ("Tokyo Godfathers", 2003), ("Paprika", 2006)]),
    ("person", "Makoto Shinkai", "新海诚|新海誠", "Makoto Shinkai|Shinkai", [
        ("Voices of a Distant Star", 2003),
        ("5 Centimeters per Second", 2007), ("The Garden of Words", 2013),
        ("Your Name.", 2016)]),
    ("person", "Pixar", "皮克斯", "Pixar", [
        ("Toy Story", 1995), ("A Bug's Life", 1998), ("Toy Story 2", 1999), ("Monsters, Inc.", 2001),
        ("Finding Nemo", 2003), ("The Incredibles", 2004), ("Cars", 2006), ("Ratatouille", 2007), ("WALL·E", 2008),
        ("Up", 2009), ("Toy Story 3", 2010), ("Cars 2", 2011), ("Brave", 2012), ("Monsters University", 2013),
        ("Inside Out", 2015), ("The Good Dinosaur", 2015), ("Finding Dory", 2016), ("Cars 3", 2017), ("Coco", 2017),
        ("Incredibles 2", 2018)]),
    ("series", "Star Wars", "星球大战系列|星战系列|星球大战|星际大战", "Star Wars", [
        ("Star Wars: Episode IV - A New Hope", 1977), ("Star Wars: Episode V - The Empire Strikes Back", 1980),
        ("Star Wars: Episode VI - Return of the Jedi", 1983), ("Star Wars: Episode I - The Phantom Menace", 1999),
        ("Star Wars: Episode II - Attack of the Clones", 2002), ("Star Wars: Episode III - Revenge of the Sith", 2005),
        ("Star Wars: Episode VII - The Force Awakens", 2015), ("Rogue One: A Star Wars Story", 2016),
        ("Star Wars: The Last Jedi", 2017), ("Solo: A Star Wars Story", 2018)]),
    ("series", "Harry Potter", "哈利波特系列|哈利·波特系列|哈利波特", "Harry Potter", [
        ("Harry Potter and the Sorcerer's Stone", 2001), ("Harry Potter and the Chamber of Secrets", 2002),
        ("Harry Potter and the Prisoner of Azkaban", 2004), ("Harry Potter and the Goblet of Fire", 2005),
        ("Harry Potter and the Order of the Phoenix", 2007), ("Harry Potter and the Half-Blood Prince", 2009),
        ("Harry Potter and the Deathly Hallows: Part 1", 2010), ("Harry Potter and the Deathly Hallows: Part 2", 2011)]),
    ("series", "The Lord of the Rings", "指环王系列|魔戒系列|指环王三部曲|魔戒三部曲|指环王|魔戒", "Lord of the Rings|The Lord of the Rings", [
        ("The Lord of the Rings: The Fellowship of the Ring", 2001), ("The Lord of the Rings: The Two Towers", 2002),
        ("The Lord of the Rings: The Return of the King", 2003), ("The Lord of the Rings", 1978)]),
    ("series", "The Hobbit", "霍比特人系列|霍比特人", "The Hobbit|Hobbit", [
        ("The Hobbit: An Unexpected Journey", 2012), ("The Hobbit: The Desolation of Smaug", 2013),
        ("The Hobbit: The Battle of the Five Armies", 2014)]),
    ("series", "Jurassic Park", "侏罗纪公园系列|侏罗纪系列|侏罗纪世界|侏罗纪", "Jurassic Park|Jurassic World", [
        ("Jurassic Park", 1993), ("The Lost World: Jurassic Park", 1997), ("Jurassic Park III", 2001),
        ("Jurassic World", 2015), ("Jurassic World: Fallen Kingdom", 2018)]),
    ("series", "Toy Story", "玩具总动员系列", "Toy Story", [
        ("Toy Story", 1995), ("Toy Story 2", 1999), ("Toy Story 3", 2010)]),
    ("series", "James Bond", "007|007系列|詹姆斯·邦德|邦德", "James Bond|007|Bond", [
        ("Dr. No", 1962), ("From Russia with Love", 1963), ("Goldfinger", 1964), ("Thunderball", 1965),
        ("You Only Live Twice", 1967), ("On Her Majesty's Secret Service", 1969), ("Diamonds Are Forever", 1971),
        ("Live and Let Die", 1973), ("The Man with the Golden Gun", 1974), ("The Spy Who Loved Me", 1977),
        ("Moonraker", 1979), ("For Your Eyes Only", 1981), ("Octopussy", 1983), ("A View to a Kill", 1985),
        ("The Living Daylights", 1987), ("Licence to Kill", 1989), ("GoldenEye", 1995), ("Tomorrow Never Dies", 1997),
        ("The World Is Not Enough", 1999), ("Die Another Day", 2002), ("Casino Royale", 2006), ("Quantum of Solace", 2008),
        ("Skyfall", 2012), ("Spectre", 2015)]),
    ("series", "Mission: Impossible", "碟中谍系列|碟中谍|不可能的任务", "Mission: Impossible|Mission Impossible", [
        ("Mission: Impossible", 1996), ("Mission: Impossible II", 2000), ("Mission: Impossible III", 2006),
        ("Mission: Impossible - Ghost Protocol", 2011), ("Mission: Impossible - Rogue Nation", 2015),
        ("Mission: Impossible - Fallout", 2018)]),
    ("series", "The Godfather", "教父系列|教父三部曲", "The Godfather trilogy|Godfather trilogy|Godfather films", [
        ("The Godfather", 1972), ("The Godfather: Part II", 1974), ("The Godfather: Part III", 1990)]),
    ("series", "Back to the Future", "回到未来系列|回到未来三部曲", "Back to the Future trilogy", [
        ("Back to the Future", 1985), ("Back to the Future Part II", 1989), ("Back to the Future Part III", 1990)]),
    ("series", "The Matrix", "黑客帝国系列|黑客帝国三部曲", "Matrix trilogy|The Matrix trilogy|Matrix films", [
        ("The Matrix", 1999), ("The Matrix Reloaded", 2003), ("The Matrix Revolutions", 2003)]),
    ("series", "Batman", "蝙蝠侠系列|蝙蝠侠", "Batman", [
        ("Batman", 1989), ("Batman Returns", 1992), ("Batman Forever", 1995), ("Batman & Robin", 1997),
        ("Batman Begins", 2005), ("The Dark Knight", 2008), ("The Dark Knight Rises", 2012),
        ("Batman v Superman: Dawn of Justice", 2016), ("Batman: Mask of the Phantasm", 1993)]),
    ("series", "Marvel Cinematic Universe", "漫威|漫威电影|漫威宇宙", "Marvel|MCU", [
        ("Iron Man", 2008), ("The Incredible Hulk", 2008), ("Iron Man 2", 2010), ("Thor", 2011),
        ("Captain America: The First Avenger", 2011), ("The Avengers", 2012), ("Iron Man 3", 2013),
        ("Thor: The Dark World", 2013), ("Captain America: The Winter Soldier", 2014), ("Guardians of the Galaxy", 2014),
        ("Avengers: Age of Ultron", 2015), ("Ant-Man", 2015), ("Captain America: Civil War", 2016), ("Doctor Strange", 2016),
        ("Guardians of the Galaxy 2", 2017), ("Thor: Ragnarok", 2017),
        ("Black Panther", 2017), ("Avengers: Infinity War - Part I", 2018), ("Ant-Man and the Wasp", 2018)]),
    ("series", "X-Men", "X战警系列|X战警|X战警系列电影", "X-Men", [
        ("X-Men", 2000), ("X2: X-Men United", 2003), ("X-Men: The Last Stand", 2006), ("X-Men Origins: Wolverine", 2009),
        ("X-Men: First Class", 2011), ("The Wolverine", 2013), ("X-Men: Days of Future Past", 2014),
        ("X-Men: Apocalypse", 2016), ("Logan", 2017), ("Deadpool", 2016), ("Deadpool 2", 2018)]),
    ("series", "Pirates of the Caribbean", "加勒比海盗系列|加勒比海盗", "Pirates of the Caribbean", [
        ("Pirates of the Caribbean: The Curse of the Black Pearl", 2003), ("Pirates of the Caribbean: Dead Man's Chest", 2006),
        ("Pirates of the Caribbean: At World's End", 2007), ("Pirates of the Caribbean: On Stranger Tides", 2011),
        ("Pirates of the Caribbean: Dead Men Tell No Tales", 2017)]),
    ("series", "Indiana Jones", "夺宝奇兵系列|夺宝奇兵|印第安纳·琼斯", "Indiana Jones", [
        ("Raiders of the Lost Ark", 1981), ("Indiana Jones and the Temple of Doom", 1984),
        ("Indiana Jones and the Last Crusade", 1989), ("Indiana Jones and the Kingdom of the Crystal Skull", 2008)]),
    ("series", "Terminator", "终结者系列", "Terminator films|Terminator series", [
        ("The Terminator", 1984), ("Terminator 2: Judgment Day", 1991), ("Terminator 3: Rise of the Machines", 2003),
        ("Terminator Salvation", 2009), ("Terminator Genisys", 2015)]),
    ("series", "Alien", "异形系列", "Alien films|Alien series|Alien franchise", [
        ("Alien", 1979), ("Aliens", 1986), ("Alien³", 1992), ("Alien: Resurrection", 1997),
        ("Prometheus", 2012), ("Alien: Covenant", 2017)]),
    ("series", "Kung Fu Panda", "功夫熊猫系列", "Kung Fu Panda films|Kung Fu Panda series", [
        ("Kung Fu Panda", 2008), ("Kung Fu Panda 2", 2011), ("Kung Fu Panda 3", 2016)]),
    ("series", "Ice Age", "冰河世纪系列|冰川时代|冰河世纪", "Ice Age", [
        ("Ice Age", 2002), ("Ice Age 2: The Meltdown", 2006), ("Ice Age: Dawn of the Dinosaurs", 2009),
        ("Ice Age 4: Continental Drift", 2012), ("Ice Age: Collision Course", 2016)]),
    ("series", "Shrek", "怪物史莱克系列|史莱克系列", "Shrek films|Shrek series", [
        ("Shrek", 2001), ("Shrek 2", 2004), ("Shrek the Third", 2007), ("Shrek Forever After", 2010)]),
    ("series", "Fast & Furious", "速度与激情系列|速度与激情|速激", "Fast and the Furious|Fast & Furious|Fast and Furious", [
        ("The Fast and the Furious", 2001), ("2 Fast 2 Furious", 2003), ("The Fast and the Furious: Tokyo Drift", 2006),
        ("Fast & Furious", 2009), ("Fast Five", 2011), ("Fast & Furious 6", 2013), ("Furious 7", 2015),
        ("The Fate of the Furious", 2017)]),
    ("series", "Rocky", "洛奇系列|洛奇", "Rocky films|Rocky series", [
        ("Rocky", 1976), ("Rocky II", 1979), ("Rocky III", 1982), ("Rocky IV", 1985), ("Rocky V", 1990),
        ("Rocky Balboa", 2006), ("Creed", 2015)]),
    ("series", "Die Hard", "虎胆龙威系列", "Die Hard films|Die Hard series", [
        ("Die Hard", 1988), ("Die Hard 2", 1990), ("Die Hard: With a Vengeance", 1995), ("Live Free or Die Hard", 2007),
        ("A Good Day to Die Hard", 2013)]),
    ("series", "Jason Bourne", "谍影重重系列|谍影重重|伯恩", "Bourne|Jason Bourne", [
        ("The Bourne Identity", 2002), ("The Bourne Supremacy", 2004), ("The Bourne Ultimatum", 2007),
        ("The Bourne Legacy", 2012), ("Jason Bourne", 2016)]),
    ("series", "The Hunger Games", "饥饿游戏系列|饥饿游戏", "Hunger Games", [
        ("The Hunger Games", 2012), ("The Hunger Games: Catching Fire", 2013), ("The Hunger Games: Mockingjay - Part 1", 2014),
        ("The Hunger Games: Mockingjay - Part 2", 2015)]),
    ("series", "Twilight", "暮光之城系列|暮光之城", "Twilight saga|Twilight films", [
        ("Twilight", 2008), ("The Twilight Saga: New Moon", 2009), ("The Twilight Saga: Eclipse", 2010),
        ("The Twilight Saga: Breaking Dawn - Part 1", 2011), ("The Twilight Saga: Breaking Dawn - Part 2", 2012)]),
    ("series", "Transformers", "变形金刚系列|变形金刚", "Transformers", [
        ("Transformers", 2007), ("Transformers: Revenge of the Fallen", 2009), ("Transformers: Dark of the Moon", 2011),
        ("Transformers: Age of Extinction", 2014)]),
    ("series", "Spider-Man", "蜘蛛侠系列", "Spider-Man films|Spider-Man series", [
        ("Spider-Man", 2002), ("Spider-Man 2", 2004), ("Spider-Man 3", 2007), ("The Amazing Spider-Man", 2012),
        ("The Amazing Spider-Man 2", 2014)]),
    ("series", "Despicable Me", "神偷奶爸系列|神偷奶爸|小黄人", "Despicable Me|Minions", [
        ("Despicable Me", 2010), ("Despicable Me 2", 2013), ("Minions", 2015), ("Despicable Me 3", 2017)]),
    ("series", "How to Train Your Dragon", "驯龙高手系列|驯龙高手", "How to Train Your Dragon", [
        ("How to Train Your Dragon", 2010), ("How to Train Your Dragon 2", 2014)]),
    ("series", "Men in Black", "黑衣人系列|黑衣人|黑超特警组", "Men in Black", [
        ("Men in Black", 1997), ("Men in Black II", 2002), ("Men in Black III", 2012)]),
    ("series", "The Mummy", "木乃伊系列|木乃伊|盗墓迷城", "The Mummy films|Mummy films", [
        ("The Mummy", 1999), ("The Mummy Returns", 2001), ("The Mummy: Tomb of the Dragon Emperor", 2008)]),
    ("series", "Lethal Weapon", "致命武器系列|致命武器", "Lethal Weapon", [
        ("Lethal Weapon", 1987), ("Lethal Weapon 2", 1989), ("Lethal Weapon 3", 1992), ("Lethal Weapon 4", 1998)]),
    ("series", "Star Trek", "星际迷航系列|星际迷航|星际旅行", "Star Trek", [
        ("Star Trek: The Motion Picture", 1979), ("Star Trek II: The Wrath of Khan", 1982),
        ("Star Trek III: The Search for Spock", 1984), ("Star Trek IV: The Voyage Home", 1986),
        ("Star Trek V: The Final Frontier", 1989), ("Star Trek VI: The Undiscovered Country", 1991),
        ("Star Trek: Generations", 1994), ("Star Trek: First Contact", 1996), ("Star Trek: Insurrection", 1998),
        ("Star Trek: Nemesis", 2002), ("Star Trek", 2009), ("Star Trek Into Darkness", 2013), ("Star Trek Beyond", 2016)]),
]


def resolve(cat, title: str, year):
    hits = cat.titles.exact(title)
    if year:
        hits = [p for p in hits if cat.items[p].year == year] or [
            p for p in cat.titles.exact(title) if cat.items[p].year and abs(cat.items[p].year - year) <= 1]
    return cat.items[hits[0]] if hits else None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="only report titles that do not resolve")
    args = ap.parse_args()
    cat = load_catalog(ROOT / "data" / "movielens")
    rows, missing = [], []
    for title, year, zh, en in TITLES:
        item = resolve(cat, title, year)
        if item is None:
            missing.append(f"title {title} ({year})")
            continue
        rows.append({"key": item.title, "kind": "title", "zh": zh, "en": en, "movie_id": item.item_id,
                     "title": item.title, "year": item.year or ""})
    for kind, key, zh, en, films in GROUPS:
        for title, year in films:
            item = resolve(cat, title, year)
            if item is None:
                missing.append(f"{key}: {title} ({year})")
                continue
            rows.append({"key": key, "kind": kind, "zh": zh, "en": en, "movie_id": item.item_id, "title": item.title,
                         "year": item.year or ""})
    if missing:
        print("not in the catalog:\n  " + "\n  ".join(missing))
    if args.check:
        return 0
    if missing:
        print("fix or drop these names first (nothing written)")
        return 1
    with open(OUT, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["key", "kind", "zh", "en", "movie_id", "title", "year"])
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} rows to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
