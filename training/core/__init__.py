"""The model core: what training writes and the web app reads, in one package.

Training (``training/``) and the web app (``webapp/``) meet here and nowhere
else: the web app imports only from this package (the names below, and the
modules for the few things only one page needs). The modules:

- ``errors``: :class:`BadInput`, the one-line "what and where" error of bad files.
- ``atomic``: files written under a temporary name, then renamed into place.
- ``likes`` / ``prepare``: the likes file; duplicates and thresholding.
- ``params``: the WRMF parameters and their defaults (imports no ``implicit``).
- ``results``: RESULTS.json, the search's record; ``svg_plot`` draws its curves;
  ``halving`` the search's schedule (rungs, who goes on), read by the admin pages.
- ``arg_types``: the parameter bounds the command line and the admin form share.
- ``events_file`` / ``event_likes``: the visitors' events file the web app
  writes, and its hearts as likes for a retrain.
- ``artifact`` / ``artifact_mmap``: the model ``.npz`` file, its checks, its arrays mapped.
- ``similarity`` / ``top_k``: the neighbour score and the exact top k of score rows.
- ``neighbours``: :class:`NeighbourIndex`, the similar-models query, exact or
  approximate (``ann_index``, faiss), and "N people liked both".
- ``fold_in``: a visitor's vector from a few likes, and "because" explanations.
- ``serving_files``: the memory-mapped folder a model is served from, built once
  beside the artifact, opened as :class:`Served`; ``name_index`` the name search in it.
"""

from .artifact import load_model
from .atomic import atomic_path, write_text
from .errors import BadInput
from .fold_in import recommend
from .likes import file_sha256, read_likes
from .name_index import Matches, NameIndex
from .neighbours import NeighbourIndex, co_likes
from .params import DEFAULT_ITERATIONS, Params
from .prepare import prepare as prepare_likes
from .results import read_results
from .serving_files import ANN_THRESHOLD, Served, open_served
from .similarity import COSINE
from .svg_plot import curves_svg, figure_numbers

__all__ = [
    "ANN_THRESHOLD",
    "COSINE",
    "DEFAULT_ITERATIONS",
    "BadInput",
    "Matches",
    "NameIndex",
    "NeighbourIndex",
    "Params",
    "Served",
    "atomic_path",
    "co_likes",
    "curves_svg",
    "figure_numbers",
    "file_sha256",
    "load_model",
    "open_served",
    "prepare_likes",
    "read_likes",
    "read_results",
    "recommend",
    "write_text",
]
