"""Prompt templates (Jinja2, shipped as package data) and their loader.

``load_template("fewshot_cot")`` returns a :class:`PromptTemplate` whose
``render(**ctx)`` gives the prompt text and whose ``sha256`` goes into every
manifest. Shipped templates (``list_templates()``):

* ``fewshot_cot`` - SampleLLM-style few-shot prompt with Chain-of-Thought instructions;
* ``fewshot_plain`` - the same without Chain-of-Thought;
* ``finetune_row`` - GReaT-style fine-tuning text of one encoded row.

Few-shot context: ``columns`` (from :func:`describe_columns`), ``category_column``,
``target_category``, ``click_column``, ``conversion_column``, ``n_rows``,
``exemplars`` (rows encoded by :class:`samplegen.codec.RowCodec`), optional
``dataset_description``. Values are passed as data, never as template source.
"""

from __future__ import annotations

from prompts.loader import PromptTemplate, describe_columns, list_templates, load_template

__all__ = ["PromptTemplate", "describe_columns", "list_templates", "load_template"]
