"""Deterministic Sketchfab-like demo likes with planted taste groups.

Each model belongs to one category (characters, vehicles, ...); each user has
a favourite category, a second one, and a little random curiosity. Model
popularity within a category and user activity are heavy-tailed, as on
Sketchfab. A good recommender should find the categories again from the likes
alone, which makes the demo a quality check as well as a showcase.

Generation is vectorised and linear in the number of likes: all picks of a
block of users are drawn at once, and a model is drawn from its category's
popularity by one binary search in the cumulative weights of all categories.
"""

import csv
import io
from dataclasses import dataclass

import numpy as np

from .core.atomic import atomic_path
from .core.likes import HEADER, Dialect

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
# A user's picks: favourite category, second category, any category.
PICK_P = [0.9, 0.08, 0.02]
# Users drawn at once: bounds the temporary arrays (about 100 picks a user at 1M models).
BLOCK_USERS = 50_000
# Rows written at once.
WRITE_ROWS = 1 << 20
# Below 4 models a user's likes (at most a quarter of the models) round down to none.
MIN_MODELS = 4


@dataclass
class Demo:
    """Generated likes, row ``r`` = (``names[model[r]]``, ``mids[model[r]]``, ``uids[user[r]]``).

    Rows are sorted by (mid, uid), with a few exact repeats; ``group_of`` maps mid to category.
    """

    mids: list
    names: list
    uids: list
    model: np.ndarray
    user: np.ndarray
    group_of: dict


def generate(seed=0, users=3000, models=2000):
    """Generate demo likes; the same arguments always give the same rows.

    About ``20 * (models / 2000) ** 0.25`` likes per user on average, so the
    default is about 60k likes and 15k x 25k is about 0.14% dense like the post.
    Below :data:`MIN_MODELS` models, users like nothing.
    """
    rng = np.random.default_rng(seed)
    categories = list(GROUPS)
    group = rng.integers(len(categories), size=models)
    mids = _hex_ids(rng, models)
    names = _names(rng, categories, group)
    members, bounds = _members_by_popularity(rng, group, len(categories))

    mean_likes = 20 * (models / 2000) ** 0.25
    activity = 3 + rng.lognormal(np.log(mean_likes * 0.7), 0.9, size=users)
    likes_of = np.minimum(activity, models // 4).astype(np.int64)
    uids = _hex_ids(rng, users)
    keys = [
        _block_keys(
            rng,
            start,
            likes_of[start : start + BLOCK_USERS],
            members,
            bounds,
            len(categories),
            models,
        )
        for start in range(0, users, BLOCK_USERS)
    ]
    key = np.concatenate(keys)  # user * models + model, unique, one block of users after another
    # The real file has a few repeated rows; keep some so deduplication has work.
    key = np.concatenate([key, key[rng.choice(len(key), size=len(key) // 2000, replace=False)]])
    user, model = np.divmod(key, models)
    # Sorted by (mid, uid) as strings, like the post's file.
    order = np.lexsort((_ranks(uids)[user], _ranks(mids)[model]))
    return Demo(
        mids=mids,
        names=names,
        uids=uids,
        model=model[order],
        user=user[order],
        group_of={mid: categories[g] for mid, g in zip(mids, group.tolist(), strict=True)},
    )


def _hex_ids(rng, n):
    """``n`` random 32-hex-digit ids (16 random bytes each)."""
    text = rng.bytes(16 * n).hex()
    return [text[i : i + 32] for i in range(0, 32 * n, 32)]


def _names(rng, categories, group):
    """A Sketchfab-like name for each model: style, noun of its category, number, suffix."""
    noun = rng.integers(8, size=len(group))
    style = rng.integers(len(STYLES), size=len(group))
    suffix = rng.integers(len(SUFFIXES), size=len(group))
    names = []
    for i, (g, n, s, x) in enumerate(
        zip(group.tolist(), noun.tolist(), style.tolist(), suffix.tolist(), strict=True)
    ):
        name = f"{STYLES[s]} {GROUPS[categories[g]][n]} #{i}{SUFFIXES[x]}"
        names.append(name[0].upper() + name[1:])
    return names


def _members_by_popularity(rng, group, categories):
    """``(members, bounds)``: model indices sorted by category, and ``bounds`` float64.

    ``bounds[j]`` is ``g + `` the cumulative popularity of ``members[j]`` within its
    category ``g`` (Zipf-like weights, shuffled), so the model drawn for category
    ``g`` and a uniform ``u`` is ``members[searchsorted(bounds, g + u, "right")]``.
    """
    members = np.argsort(group, kind="stable")
    sizes = np.bincount(group, minlength=categories)
    bounds = np.empty(len(group))
    start = 0
    for g, size in enumerate(sizes.tolist()):
        if not size:  # a small demo leaves some categories empty: picks go to the next one
            continue
        w = 1.0 / np.arange(1, size + 1) ** 0.8
        rng.shuffle(w)
        cumulative = np.cumsum(w / w.sum())
        cumulative[-1] = 1.0
        bounds[start : start + size] = g + cumulative
        start += size
    return members, bounds


def _block_keys(rng, first_user, likes_of, members, bounds, categories, models):
    """Distinct ``user * models + model`` keys of a block of users (picks with repeats removed)."""
    n = len(likes_of)
    first = rng.integers(categories, size=n)
    second = (first + 1 + rng.integers(categories - 1, size=n)) % categories
    owner = np.repeat(np.arange(n), likes_of)
    kind = rng.choice(3, size=len(owner), p=PICK_P)
    anywhere = rng.integers(categories, size=len(owner))
    category = np.where(kind == 0, first[owner], np.where(kind == 1, second[owner], anywhere))
    position = np.searchsorted(bounds, category + rng.random(len(owner)), side="right")
    model = members[np.minimum(position, len(members) - 1)]
    return np.unique((first_user + owner) * np.int64(models) + model)


def _ranks(ids):
    """Rank of each id in string order (int64 [len(ids)])."""
    ranks = np.empty(len(ids), dtype=np.int64)
    ranks[np.argsort(np.array(ids))] = np.arange(len(ids))
    return ranks


def write_demo(path, seed=0, users=3000, models=2000):
    """Generate demo likes and write them to ``path`` atomically; return the :class:`Demo`."""
    demo = generate(seed, users, models)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, Dialect).writerow(HEADER)
        model_cells = _cells(
            [(name, mid, "") for name, mid in zip(demo.names, demo.mids, strict=True)]
        )
        user_cells = [uid + "\n" for uid in demo.uids]
        for start in range(0, len(demo.model), WRITE_ROWS):
            stop = start + WRITE_ROWS
            f.write(
                "".join(
                    [
                        model_cells[m] + user_cells[u]
                        for m, u in zip(
                            demo.model[start:stop].tolist(),
                            demo.user[start:stop].tolist(),
                            strict=True,
                        )
                    ]
                )
            )
    return demo


def _cells(rows):
    """Each row in the post's dialect without its line end: ``name|mid|``, quoted."""
    out = io.StringIO()
    csv.writer(out, Dialect).writerows(rows)
    return out.getvalue().split("\n")[:-1]
