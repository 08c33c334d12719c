"""Deterministic Sketchfab-like demo likes with planted taste groups.

Each model belongs to one category (characters, vehicles, ...); each user has
a favourite category, a second one, and a little random curiosity. Model
popularity within a category and user activity are heavy-tailed, as on
Sketchfab. A good recommender should find the categories again from the likes
alone, which makes the demo a quality check as well as a showcase.
"""

from dataclasses import dataclass

import numpy as np

from .atomic import atomic_path
from .likes import write_likes

GROUPS = {
    "characters": [
        "knight",
        "robot girl",
        "samurai",
        "wizard",
        "pirate",
        "astronaut",
        "zombie",
        "elf archer",
    ],
    "vehicles": [
        "sports car",
        "pickup truck",
        "police car",
        "motorbike",
        "tank",
        "fighter jet",
        "sailboat",
        "tram",
    ],
    "architecture": [
        "cathedral",
        "tiny house",
        "lighthouse",
        "castle gate",
        "pagoda",
        "loft interior",
        "bridge",
        "windmill",
    ],
    "animals": ["fox", "wolf", "owl", "deer", "octopus", "cat", "horse", "dragonfly"],
    "weapons": [
        "sword",
        "katana",
        "revolver",
        "battle axe",
        "crossbow",
        "plasma rifle",
        "shield",
        "war hammer",
    ],
    "nature": [
        "oak tree",
        "rock cliff",
        "mushroom",
        "fern",
        "waterfall",
        "cactus",
        "coral reef",
        "pine forest",
    ],
    "food": ["burger", "sushi set", "donut", "ramen bowl", "pizza", "croissant", "cupcake", "taco"],
    "furniture": [
        "armchair",
        "bookshelf",
        "desk lamp",
        "sofa",
        "dining table",
        "bed",
        "wardrobe",
        "stool",
    ],
    "sci-fi": [
        "spaceship",
        "space station",
        "mech",
        "alien",
        "laser turret",
        "hover bike",
        "cyborg arm",
        "portal",
    ],
    "scans": ["statue", "bust", "skull", "fossil", "temple ruin", "vase", "gravestone", "old shoe"],
}
STYLES = [
    "Low-poly",
    "Stylized",
    "Realistic",
    "Hand-painted",
    "PBR",
    "Voxel",
    "Sculpted",
    "Photoscanned",
]
# Sketchfab names are user-written: some carry the quote char, the delimiter or markup.
SUFFIXES = ["", "", "", "", "", "", " | Game-ready", " (free)", ' "WIP"', " v2\\final", " <3"]


@dataclass
class Demo:
    """Generated likes: ``rows`` of (name, mid, uid); ``group_of`` maps mid to category."""

    rows: list
    group_of: dict


def generate(seed=0, users=3000, models=2000):
    """Generate demo likes; the same arguments always give the same rows.

    About ``20 * (models / 2000) ** 0.25`` likes per user on average, so the
    default is about 60k likes and 15k x 25k is about 0.14% dense like the reference post.
    """
    rng = np.random.default_rng(seed)
    names = list(GROUPS)
    group = rng.integers(len(names), size=models)
    mids = [rng.bytes(16).hex() for _ in range(models)]
    model_names = [_name(rng, names[g], i) for i, g in enumerate(group)]
    members = [np.flatnonzero(group == g) for g in range(len(names))]
    weights = [_popularity(rng, len(m)) for m in members]

    mean_likes = 20 * (models / 2000) ** 0.25
    activity = 3 + rng.lognormal(np.log(mean_likes * 0.7), 0.9, size=users)
    rows = []
    for u in range(users):
        uid = rng.bytes(16).hex()
        first, second = rng.choice(len(names), size=2, replace=False)
        n = int(min(activity[u], models // 4))
        picks = rng.choice(3, size=n, p=[0.9, 0.08, 0.02])
        liked = set()
        for pick in picks:
            g = first if pick == 0 else second if pick == 1 else rng.integers(len(names))
            liked.add(int(members[g][rng.choice(len(members[g]), p=weights[g])]))
        rows.extend((model_names[m], mids[m], uid) for m in liked)
    # The real file has a few repeated rows; keep some so deduplication has work.
    repeats = rng.choice(len(rows), size=len(rows) // 2000, replace=False)
    rows.extend(rows[i] for i in repeats)
    rows.sort(key=lambda r: (r[1], r[2]))
    return Demo(rows=rows, group_of={mids[i]: names[g] for i, g in enumerate(group)})


def _name(rng, group, index):
    noun = GROUPS[group][rng.integers(len(GROUPS[group]))]
    style = STYLES[rng.integers(len(STYLES))]
    suffix = SUFFIXES[rng.integers(len(SUFFIXES))]
    name = f"{style} {noun} #{index}{suffix}"
    return name[0].upper() + name[1:]


def _popularity(rng, n):
    """Heavy-tailed (Zipf-like) like probabilities of ``n`` models, shuffled."""
    w = 1.0 / np.arange(1, n + 1) ** 0.8
    rng.shuffle(w)
    return w / w.sum()


def write_demo(path, seed=0, users=3000, models=2000):
    """Generate demo likes and write them to ``path`` atomically; return the :class:`Demo`."""
    demo = generate(seed, users, models)
    with atomic_path(path) as tmp:
        write_likes(tmp, demo.rows)
    return demo
