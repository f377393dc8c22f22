"""Names the reviews generator writes into its sentences: invented, put together from parts written for
this project.

A first name is an onset and an ending (``Mar`` + ``ina``), a last name a root and a suffix (``Brenn`` +
``ford``), an organisation a stem of two parts (``Bright`` + ``water``) followed by a suffix word of the
template's domain (``Brightwater Airlines``), a location a head and a tail (``Ash`` + ``combe``), alone or
with a place word (``Port Ashcombe``, ``Ashcombe Bay``). Every combination belongs to one split
(:func:`~.pools.pair_pool`): validation and test names are never seen in training, though they share their
parts with training names (as unseen names in real text share sub-words). Suffix and place words are
ordinary words shared by all splits. No name is an opinion word, a negator or ``but`` (checked by the
tests).
"""

from __future__ import annotations

ONSETS = (
    *("Al", "Ber", "Cal", "Dor", "El", "Fen", "Gar", "Hal", "Isa", "Jor", "Kal", "Lor"),
    *("Mar", "Nel", "Or", "Pal", "Ros", "Sal", "Tam", "Ul", "Val", "Wil", "Yor", "Zan"),
)
ENDINGS = (
    "a",
    "an",
    "en",
    "ina",
    "o",
    "is",
    "ia",
    "ette",
    "us",
    "ric",
    "ley",
    "na",
    "iel",
    "ard",
    "ora",
    "eo",
)
ROOTS = (
    *("Brenn", "Cart", "Dal", "Eng", "Fair", "Gort", "Hart", "Ivers", "Kemp", "Lind", "Mor", "Nord"),
    *("Ost", "Pem", "Quill", "Rad", "Stan", "Thorn", "Ulm", "Vos", "Wess", "Yard", "Zell", "Ash"),
)
SURNAME_SUFFIXES = (
    *("ford", "sen", "wood", "ley", "ton", "berg", "ic", "ova"),
    *("ez", "man", "field", "stad", "ard", "ing", "well", "ski"),
)
STEM_HEADS = (
    *("Bright", "Blue", "North", "Silver", "Red", "Oak", "Lark", "Stone"),
    *("Clear", "Gold", "Iron", "Maple", "Sun", "Green", "Amber", "West"),
)
STEM_TAILS = (
    *("water", "peak", "wind", "line", "fern", "ridge", "spur", "bridge"),
    *("wave", "crest", "wood", "field", "coast", "hollow", "gate", "view"),
)
#: Organisation suffixes by template domain (shared by every split).
ORGANISATION_SUFFIXES = {
    "product": ("Electronics", "Devices", "Labs", "Appliances"),
    "support": ("Telecom", "Bank", "Insurance", "Energy"),
    "restaurant": ("Bistro", "Kitchen", "Grill", "Cafe"),
    "hotel": ("Hotel", "Inn", "Resorts", "Suites"),
    "airline": ("Airlines", "Air", "Airways", "Jet"),
    "travel": ("Rail", "Coaches", "Tours", "Travel"),
    "shop": ("Market", "Stores", "Outfitters", "Books"),
    "delivery": ("Logistics", "Express", "Couriers", "Movers"),
}
PLACE_HEADS = (
    *("Ash", "Bel", "Carr", "Dun", "Els", "Fal", "Glen", "Har"),
    *("Inver", "Kel", "Lin", "Mel", "Nor", "Pen", "Ros", "Tam"),
    *("Wex", "Brad", "Cors", "Dray", "Hawks", "Kil", "Mon", "Sol"),
)
PLACE_TAILS = (
    *("combe", "by", "holm", "mouth", "wick", "stead", "haven", "dale"),
    *("minster", "port", "chester", "ness", "bury", "thorpe", "ham", "more"),
)
#: Place words around a location: a location is ``Port X`` / ``Lake X`` or ``X Bay`` / ``X Springs`` now and
#: then (shared by every split).
PLACE_PREFIXES = ("Port", "Lake", "Mount", "New")
PLACE_SUFFIXES = ("Bay", "Springs", "Falls", "Heights")
