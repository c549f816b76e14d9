"""Ali-CCP field meanings and default roles (torch-rechub CSV, PaddleRec AITM CSV and ESMM txt).

Ali-CCP (Alibaba Click and Conversion Prediction; Ma et al., SIGIR'18, the ESMM
paper) names its features by numbered fields. The documented meanings:

* user: ``101`` user id; ``121`` user profile category id; ``122`` profile group id;
  ``124`` gender; ``125`` age; ``126`` / ``127`` consumption level I / II;
  ``128`` occupation (works or not); ``129`` geography; ``109_14`` / ``110_14`` /
  ``127_14`` / ``150_14`` the user's 14-day history of categories / shops / brands /
  intention nodes (multi-value in the raw data; ``D...`` their scaled counts in
  torch-rechub's CSV).
* item: ``205`` item id; ``206`` category; ``207`` shop; ``210`` intention node;
  ``216`` brand.
* context: ``301`` scenario (a categorical expression of position); ``508`` /
  ``509`` / ``702`` / ``853`` user x item combination features (history crossed
  with the item's category / shop / brand / intention node).

Labels are ``click`` and ``purchase`` (``ctcvr`` in the ESMM txt, i.e. click and
purchase). The default category column is ``206``. Which entity a field belongs
to can be changed with a schema file (``columns: {"129": {role: item}}``).
"""

from __future__ import annotations

import re

__all__ = [
    "AITM_COLUMNS",
    "ALICCP_FIELDS",
    "alicpp_roles",
    "alicpp_entities",
    "is_alicpp_columns",
]

#: The 20 columns of PaddleRec's AITM CSV (the header its test file lacks).
AITM_COLUMNS = ["click", "purchase", "101", "121", "122", "124", "125", "126", "127", "128",
                "129", "205", "206", "207", "216", "508", "509", "702", "853", "301"]

#: field -> (role, meaning)
ALICCP_FIELDS: dict[str, tuple[str, str]] = {
    "101": ("user", "user id"),
    "121": ("user", "user profile category id"),
    "122": ("user", "user profile group id"),
    "124": ("user", "gender"),
    "125": ("user", "age"),
    "126": ("user", "consumption level I"),
    "127": ("user", "consumption level II"),
    "128": ("user", "occupation"),
    "129": ("user", "geography"),
    "109_14": ("user", "14-day category history"),
    "110_14": ("user", "14-day shop history"),
    "127_14": ("user", "14-day brand history"),
    "150_14": ("user", "14-day intention-node history"),
    "205": ("item", "item id"),
    "206": ("item", "item category"),
    "207": ("item", "shop id"),
    "210": ("item", "intention node id"),
    "216": ("item", "brand id"),
    "301": ("context", "scenario / position"),
    "508": ("context", "109_14 x 206 combination"),
    "509": ("context", "110_14 x 207 combination"),
    "702": ("context", "127_14 x 216 combination"),
    "853": ("context", "150_14 x 210 combination"),
}

USER_KEY, ITEM_KEY, CATEGORY = "101", "205", "206"
_USER_ATTRS = ["121", "122", "124", "125", "126", "127", "128", "129"]
_ITEM_ATTRS = ["206", "207", "210", "216"]
_DENSE = re.compile(r"^D(\d+(_\d+)?)$")


def is_alicpp_columns(columns: list[str]) -> bool:
    """True when the columns look like Ali-CCP numbered fields with click/purchase labels."""
    cols = set(columns)
    return {"click", "101", "205"} <= cols and bool({"purchase", "ctcvr"} & cols)


def alicpp_roles(columns: list[str]) -> dict[str, str]:
    """Default role of every non-label Ali-CCP column (``D...`` dense columns follow their field)."""
    roles: dict[str, str] = {}
    for c in columns:
        if c in ALICCP_FIELDS:
            roles[c] = ALICCP_FIELDS[c][0]
        elif (m := _DENSE.match(c)) and m.group(1) in ALICCP_FIELDS:
            roles[c] = ALICCP_FIELDS[m.group(1)][0]
        elif c == "id":
            roles[c] = "id"
    return roles


def alicpp_entities(columns: list[str]) -> list[dict]:
    """User (key 101) and item (key 205) entity specs restricted to the present columns."""
    cols = set(columns)
    out = []
    if USER_KEY in cols:
        out.append({"name": "user", "key": USER_KEY,
                    "attributes": [c for c in _USER_ATTRS if c in cols]})
    if ITEM_KEY in cols:
        out.append({"name": "item", "key": ITEM_KEY,
                    "attributes": [c for c in _ITEM_ATTRS if c in cols]})
    return out
