"""``llm-judge``: real candidate rows, weighed by a data model and judged by the LLM.

The LLM writes nothing. For each batch it is shown candidate positives built by
:class:`~samplegen.llm.proposals.Proposal` (real users, the target's real items
weighted like real clicks, real contexts; ``pool_factor`` candidates per row
asked) and asked "does this customer book it?" after a prompt that shows the
customer's real history (last ``history`` clicked training rows: booked or only
viewed) and ``shots`` worked examples of real customers of other categories.
Its score is P(" yes") renormalised over " yes"/" no": one prefill of the
candidate's block over a shared, prefilled prompt prefix (no decoding).
``judge_on="user"`` (default) asks about the customer and the target category
only, so one score serves every candidate of that customer; ``"row"`` adds the
item's attributes and the context.

Selection is a product of experts over the proposal ``q(x)`` ~ P(x | click, target)::

    log w(x) = w_data * log P_data(conversion | click, x) + w_llm * log P_llm(yes | x)

and ``n`` rows are drawn without replacement with probability ~ ``w(x) ** sharpness``
(Gumbel top-k). With ``w_data = 1, w_llm = 0`` and ``sharpness = 1`` this is
sampling-importance-resampling towards P(x | conversion, click, target) under the
data model; ``judge="none"`` is that ablation (the LLM score replaced by a
constant), ``w_data=0`` the LLM alone, both zero the proposal alone.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from samplegen.errors import GeneratorError
from samplegen.generators.registry import register_generator
from samplegen.llm.llm_generator import LLM_PARAMS, LLMGenerator
from samplegen.llm.proposals import DataModel, Proposal
from samplegen.schema import ColumnType, Schema

__all__ = ["JudgeGenerator", "ANSWERS"]

log = logging.getLogger(__name__)

#: the two answers scored (their first tokens must differ)
ANSWERS = (" yes", " no")


@register_generator("llm-judge")
class JudgeGenerator(LLMGenerator):
    """Real candidates x data model x LLM yes/no judge (product of experts)."""

    default_params: ClassVar[dict[str, Any]] = {
        **LLM_PARAMS,
        "llm_batch_size": 16,
        "judge": "llm",          # "llm" or "none" (ablation: constant score)
        "judge_on": "user",      # "user" (customer x category) or "row" (+ item, context)
        "w_data": 1.0,
        "w_llm": 1.0,
        "sharpness": 1.0,
        "pool_factor": 8,
        "history": 3,
        "shots": 4,
        "target_share": 0.5,
        "template": "judge_yesno",
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.params["judge"] not in ("llm", "none"):
            raise GeneratorError(f"judge={self.params['judge']!r}: use 'llm' or 'none'.")
        if self.params["judge_on"] not in ("user", "row"):
            raise GeneratorError(f"judge_on={self.params['judge_on']!r}: use 'user' or 'row'.")
        from prompts import load_template

        self.template = load_template(self.params["template"])
        self.last_scores: pd.DataFrame | None = None
        self.judge_stats = {"scored": 0, "seconds": 0.0}

    # ------------------------------------------------------------------ fit
    def _fit(self, table: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        assert self.validator is not None
        cats = self.validator.catalogs
        if len(cats) < 1:
            raise GeneratorError("llm-judge needs entities (a user and an item key) in the "
                                 "schema to build candidates from real ones.")
        self.proposal = Proposal(table, schema, cats,
                                 target_share=float(self.params["target_share"]))
        self.data_model = DataModel(schema, cats).fit(table)
        clicked = self.proposal.clicked
        self._setup_rows(clicked, schema)
        self._user = next((c for c in cats if schema.category not in c.columns), cats[0])
        self._item = next((c for c in cats if schema.category in c.columns), cats[-1])
        ukey = self._user.entity.key
        ts = schema.timestamp
        hist = clicked.sort_values(ts) if ts else clicked
        self.histories = {u: g.tail(int(self.params["history"]))
                          for u, g in hist.groupby(hist[ukey].astype(str), observed=True)} \
            if int(self.params["history"]) > 0 else {}
        self._seed = seed
        self.fit_note = (f"candidates from real entities and contexts; data model on "
                         f"{len(clicked)} clicked rows; judge={self.params['judge']}")

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        state.pop("template", None)
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        from prompts import load_template

        self.template = load_template(self.params["template"])

    # -------------------------------------------------------------- prompts
    def _fields(self, cat: Any) -> list[str]:
        return [a for a in cat.entity.attributes]

    def _values(self, row: dict[str, Any], cols: list[str]) -> str:
        assert self.codec is not None
        return ", ".join(self.codec.format_value(c, row[c]) for c in cols)

    def _past(self, user: str, exclude: Any = None) -> str:
        h = self.histories.get(user)
        if h is None or not len(h):
            return "Past: nothing."
        s = self.schema
        brief = [a for a in self._item.entity.attributes
                 if s[a].type == ColumnType.CATEGORICAL][:2]
        parts = []
        for idx, r in h.iterrows():
            if idx == exclude:
                continue
            verb = "booked" if int(r[s.conversion]) == 1 else "viewed"
            parts.append(f"{verb} {self._values(r, brief)}")
        return "Past: " + ("; ".join(parts) or "nothing") + "."

    def block(self, row: dict[str, Any], exclude: Any = None) -> str:
        """One candidate's text: customer, history, offer and the question."""
        s = self.schema
        ukey = self._user.entity.key
        offer = [s.category] if self.params["judge_on"] == "user" else \
            self._fields(self._item) + [c for c in self.proposal.context if c != s.timestamp]
        return (f"Customer: {self._values(row, self._fields(self._user))}.\n"
                f"{self._past(str(row[ukey]), exclude)}\n"
                f"Offer: {self._values(row, offer)}.\nBooks it? Answer:")

    def prefix(self, conditions: dict[str, Any]) -> str:
        """The shared prompt prefix for a target: legend and worked examples."""
        s = self.schema
        rng = np.random.default_rng(self._seed)
        clicked = self.proposal.clicked
        other = clicked[clicked[s.category] != conditions.get(s.category)] \
            if s.category in conditions else clicked
        k = int(self.params["shots"])
        examples = []
        for label, answer in ((1, ANSWERS[0]), (0, ANSWERS[1])):
            pool = other[other[s.conversion] == label]
            take = rng.choice(len(pool), size=min(k // 2 + k % 2 * label, len(pool)),
                              replace=False) if len(pool) else []
            examples += [(pool.index[i], pool.iloc[i].to_dict(), answer) for i in take]
        order = rng.permutation(len(examples))
        ctx_fields = [c for c in self.proposal.context if c != s.timestamp]
        return self.template.render(
            user_fields=self._fields(self._user), item_fields=self._fields(self._item),
            context_fields=ctx_fields if self.params["judge_on"] == "row" else [],
            target=self.codec.format_value(s.category, conditions[s.category])
            if s.category in conditions else "any category",
            examples=[{"text": self.block(examples[i][1], examples[i][0]),
                       "answer": examples[i][2].strip()} for i in order])

    # --------------------------------------------------------------- scores
    def scores(self, cands: pd.DataFrame, conditions: dict[str, Any]) -> pd.DataFrame:
        """Each candidate's data-model and LLM log-scores and the combined log weight."""
        p = self.params
        data = self.data_model.log_prob(cands)
        llm = np.zeros(len(cands))
        if p["judge"] == "llm" and float(p["w_llm"]) != 0:
            texts = [self.block(r) for r in cands.to_dict("records")]
            uniq, inv = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
            backend = self.backend()
            if not hasattr(backend, "score_choices"):
                raise GeneratorError(f"llm-judge needs a backend that scores answers "
                                     f"(transformers); {p['backend']!r} only generates text.")
            t0 = time.perf_counter()
            lp = backend.score_choices(self.prefix(conditions), list(uniq), ANSWERS)[:, 0]
            self.judge_stats["seconds"] += time.perf_counter() - t0
            self.judge_stats["scored"] += len(uniq)
            llm = lp[inv]
        total = float(p["w_data"]) * data + float(p["w_llm"]) * llm
        return pd.DataFrame({"data": data, "llm": llm, "log_weight": total})

    def _sample_batch(self, n: int, conditions: dict[str, Any],
                      rng: np.random.Generator) -> pd.DataFrame:
        m = max(n, n * int(self.params["pool_factor"]))
        cands = self.proposal.candidates(m, conditions, rng)
        sc = self.scores(cands, conditions)
        g = float(self.params["sharpness"]) * sc["log_weight"].to_numpy() + rng.gumbel(size=m)
        pick = np.sort(np.argsort(-g, kind="stable")[:n])
        self.last_scores = sc.iloc[pick].reset_index(drop=True)
        return cands.iloc[pick].reset_index(drop=True)

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["judge"] = {k: self.params[k] for k in ("judge", "judge_on", "w_data", "w_llm",
                                                  "sharpness", "pool_factor")}
        d["judge"]["stats"] = dict(self.judge_stats)
        d["llm"]["template"] = {"name": self.template.name, "sha256": self.template.sha256}
        return d
