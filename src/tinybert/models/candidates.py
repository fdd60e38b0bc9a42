"""Replacement candidates for TinyBERT's data augmentation (paper Algorithm 1), computed in batches.

A sentence is split into words exactly as the model's tokenizer splits it (its pre-tokenizer:
whitespace and punctuation), each word keeping its character span in the original text and its
word pieces. A word is *replaceable* when it is alphabetic, at least two letters, not a stop word,
not (part of) a special token and not a Penn-Treebank bracket escape such as ``-lrb-``.

Candidates of a replaceable word (K of them, the word itself excluded):

* single-piece word, model with an MLM head: the MLM's top-K at the masked position;
* multi-piece word, or any word when the model has no MLM head: the K nearest neighbours by cosine
  similarity in the model's input-embedding table (query: the word's piece embeddings averaged),
  searched among whole-word vocabulary entries; with a GloVe-format word-vectors file, multi-piece
  words found in it take their neighbours from that file instead.

Only whole, alphabetic, non-stop-word vocabulary entries can be candidates, so sub-word fragments
(``##x``), special tokens, ``[unused]`` entries, punctuation and numbers never reach the output.

Speed: the masked copies of many sentences go through the encoder together (sorted by length,
``batch_size`` per forward, the vocabulary projection applied only at the masked positions); the
neighbour search is one matrix product per chunk of distinct query words against the normalised
table, and its results are cached per word.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import AutoModel, AutoModelForMaskedLM, PreTrainedModel, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from tinybert.errors import TinyBertError
from tinybert.models.loading import check_local, check_weights, load_config, load_tokenizer

__all__ = [
    "POLARITY_WORDS",
    "STOP_WORDS",
    "CandidateFinder",
    "Word",
    "WordVectors",
    "is_candidate_token",
    "segment",
]

log = logging.getLogger(__name__)

# NLTK's English stop-word list (the usual choice for this algorithm), contraction fragments included.
_STOP_WORDS_TEXT = (
    "i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her "
    "hers herself it its itself they them their theirs themselves what which who whom this that these "
    "those am is are was were be been being have has had having do does did doing a an the and but if or "
    "because as until while of at by for with about against between into through during before after "
    "above below to from up down in out on off over under again further then once here there when where "
    "why how all any both each few more most other some such no nor not only own same so than too very s "
    "t can will just don should now d ll m o re ve y ain aren couldn didn doesn hadn hasn haven isn ma "
    "mightn mustn needn shan shouldn wasn weren won wouldn "
)
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
# The stop words that set a sentence's polarity or degree: negations, contrast and degree words.
# Replacing them (``replace_polarity_words``) writes variants such as "not" -> "never" / "hardly"
# and "but" -> "however" / "although", which the teacher then relabels: the student sees how the
# teacher reads negation and contrast words that the training data never uses.
POLARITY_WORDS = frozenset(["no", "nor", "not", "but", "very", "too", "only", "few", "more", "most", "against"])
# Penn-Treebank escapes for brackets, common in GLUE text ("-lrb- sic -rrb-"): never words to replace.
_PTB_ESCAPES = frozenset({"lrb", "rrb", "lsb", "rsb", "lcb", "rcb"})
_WORD = re.compile(r"^[^\W\d_]{2,}$")  # letters only (any script), at least two


def _is_plain_word(text: str, stop_words: frozenset[str] = STOP_WORDS) -> bool:
    return bool(_WORD.match(text)) and text.lower() not in stop_words


def is_candidate_token(token: str, subword_prefix: str = "##") -> bool:
    """Whether a vocabulary entry may be emitted: a whole word, letters only, not a stop word."""
    return not token.startswith(subword_prefix) and _is_plain_word(token)


@dataclass
class Word:
    """One word of a text: its character span, its word-piece ids, and whether it may be replaced."""

    start: int
    end: int
    pieces: list[int]
    replaceable: bool


def segment(
    tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], stop_words: frozenset[str] = STOP_WORDS
) -> list[list[Word]]:
    """Split ``texts`` into words with the tokenizer's own pre-tokenizer (one batched call).

    A word is replaceable when it is letters only (two or more) and not in ``stop_words``.

    Returns one list of :class:`Word` per text, in order; spans index the original text, so a
    variant is made by splicing replacements into it and keeps its spacing and punctuation.
    """
    if not texts:
        return []
    enc = tokenizer(
        list(texts),
        add_special_tokens=False,
        return_attention_mask=False,
        return_token_type_ids=False,
        return_offsets_mapping=True,
    )
    special = set(tokenizer.all_special_ids)
    result: list[list[Word]] = []
    for i, text in enumerate(texts):
        groups: dict[int, tuple[list[int], int, int]] = {}  # word -> (pieces, start, end)
        for token, word_id, (start, end) in zip(
            enc["input_ids"][i], enc.word_ids(i), enc["offset_mapping"][i], strict=True
        ):
            if word_id is None:
                continue
            if word_id in groups:
                pieces, first, _ = groups[word_id]
                pieces.append(token)
                groups[word_id] = (pieces, first, end)
            else:
                groups[word_id] = ([token], start, end)
        words = []
        for pieces, start, end in groups.values():
            surface = text[start:end]
            ptb = surface.lower() in _PTB_ESCAPES and text[start - 1 : start] == "-" and text[end : end + 1] == "-"
            ok = _is_plain_word(surface, stop_words) and not ptb and not any(p in special for p in pieces)
            words.append(Word(start, end, pieces, ok))
        result.append(words)
    return result


class WordVectors:
    """Word vectors in GloVe text format (``word v1 ... vd`` per line), normalised, for neighbour search.

    A first line of two integers (word2vec's header) is skipped. Only plain words (letters, not
    stop words) can be returned as candidates; any word in the file can be looked up.
    """

    def __init__(self, path: Path, device: torch.device) -> None:
        self.path = Path(path)
        words, rows = self._read(self.path)
        matrix = F.normalize(torch.tensor(rows, dtype=torch.float32), dim=1)  # [W, d]
        self.index = {w: i for i, w in enumerate(words)}
        keep = torch.tensor([_is_plain_word(w) for w in words])
        self.candidate_words = [w for w, k in zip(words, keep.tolist(), strict=True) if k]
        self.table = matrix[keep].to(device)  # [C, d]
        self.matrix = matrix.to(device)  # [W, d]

    @staticmethod
    def _read(path: Path) -> tuple[list[str], list[list[float]]]:
        if not path.is_file():
            raise TinyBertError(f"--word-vectors {path}: file not found")
        words: list[str] = []
        rows: list[list[float]] = []
        width = None
        try:
            with path.open(encoding="utf-8") as handle:
                for line_no, line in enumerate(handle, start=1):
                    parts = line.rstrip("\n").rstrip().split(" ")
                    if line_no == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                        continue  # word2vec header: count and width
                    if len(parts) < 2:
                        if not line.strip():
                            continue
                        raise TinyBertError(f"{path}:{line_no}: expected 'word v1 v2 ...' (GloVe text format)")
                    try:
                        values = [float(v) for v in parts[1:]]
                    except ValueError:
                        raise TinyBertError(f"{path}:{line_no}: non-numeric vector value (GloVe text format)") from None
                    if width is None:
                        width = len(values)
                    elif len(values) != width:
                        raise TinyBertError(f"{path}:{line_no}: expected {width} values, found {len(values)}")
                    words.append(parts[0])
                    rows.append(values)
        except UnicodeDecodeError as exc:
            raise TinyBertError(f"{path}: not valid UTF-8 text ({exc.reason})") from None
        if not words:
            raise TinyBertError(f"{path}: no word vectors found (expected GloVe text format)")
        return words, rows

    def lookup(self, word: str) -> int | None:
        """Row of ``word`` (exact, else lower-cased), or None."""
        index = self.index.get(word)
        return self.index.get(word.lower()) if index is None else index


def load_mlm_or_encoder(name: str) -> tuple[PreTrainedModel, bool]:
    """Load ``name`` with its MLM head when the checkpoint has one.

    Returns ``(model, has_mlm_head)``. A checkpoint without head weights (a bare encoder such as
    MiniLM, or a sequence classifier) is loaded as a plain encoder: a freshly initialised head
    would predict noise.
    """
    config = load_config(name, "--model")
    folder = check_local(name, "--model")
    if folder is not None:
        check_weights(folder, "--model")
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "newly initialized head" report is expected and handled here
    try:
        model, info = AutoModelForMaskedLM.from_pretrained(name, output_loading_info=True)
    except ValueError:  # no MLM class for this architecture
        model, info = None, None
    except OSError as err:
        raise TinyBertError(f"--model {name}: cannot load the model ({str(err).splitlines()[0]})") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    if model is not None and info is not None:
        prefix = model.base_model_prefix + "."
        if not any(not key.startswith(prefix) for key in info.get("missing_keys", ())):
            return model, True
        return model.base_model, False
    try:
        return AutoModel.from_pretrained(name, config=config), False
    except (OSError, ValueError) as err:
        raise TinyBertError(f"--model {name}: cannot load the model ({str(err).splitlines()[0]})") from None


class CandidateFinder:
    """Candidate words for replaceable words, from one model's MLM head and input embeddings.

    Args:
        model: model folder or hub id (its tokenizer must be a fast WordPiece tokenizer).
        k: candidates per word.
        device: where the model and the embedding table live.
        word_vectors: optional GloVe-format file for multi-piece words.
        batch_size: masked sentences per MLM forward pass.
        max_length: tokens of context around a masked word (special tokens included).
        cache_size: neighbour lists kept (least recently used dropped first).
        replace_polarity_words: also replace the stop words of :data:`POLARITY_WORDS` (their
            candidates are still content words only).
    """

    def __init__(
        self,
        model: str,
        k: int = 15,
        device: str | torch.device = "cpu",
        word_vectors: Path | None = None,
        batch_size: int = 256,
        max_length: int = 128,
        cache_size: int = 200_000,
        replace_polarity_words: bool = False,
    ) -> None:
        self.k = k
        self.stop_words = STOP_WORDS - POLARITY_WORDS if replace_polarity_words else STOP_WORDS
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.max_length = max_length
        self.cache_size = cache_size
        self.tokenizer = load_tokenizer(model, "--model")
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        prefix = getattr(getattr(backend, "model", None), "continuing_subword_prefix", None)
        if backend is None or type(backend.model).__name__ != "WordPiece" or not prefix:
            raise TinyBertError(
                f"--model {model}: augmentation needs a fast WordPiece tokenizer (BERT family), "
                f"found {type(self.tokenizer).__name__}"
            )
        loaded, self.has_mlm_head = load_mlm_or_encoder(model)
        self.model = loaded.eval().to(self.device)
        self.encoder = self.model.base_model if self.has_mlm_head else self.model
        head = getattr(self.model, "cls", None)
        self.head = head if head is not None else getattr(self.model, "lm_head", None)
        self.cls_id, self.sep_id, self.pad_id = (
            self.tokenizer.cls_token_id,
            self.tokenizer.sep_token_id,
            self.tokenizer.pad_token_id or 0,
        )

        with torch.inference_mode():
            embeddings = self.model.get_input_embeddings().weight.detach().float()  # [V, d]
        vocab_size = embeddings.shape[0]
        tokens = self.tokenizer.convert_ids_to_tokens(list(range(min(vocab_size, len(self.tokenizer)))))
        special = set(self.tokenizer.all_special_ids)
        allowed = torch.zeros(vocab_size, dtype=torch.bool)
        for i, token in enumerate(tokens):
            allowed[i] = i not in special and is_candidate_token(token, prefix)
        if not bool(allowed.any()):
            raise TinyBertError(f"--model {model}: its vocabulary has no whole-word entries to use as candidates")
        self.tokens = tokens
        self.allowed = allowed.to(self.device)  # [V]
        self.candidate_ids = allowed.nonzero().squeeze(1)  # [A]
        self.embeddings = embeddings.to(self.device)  # [V, d]
        self.table = F.normalize(embeddings[self.candidate_ids], dim=1).to(self.device)  # [A, d]
        self.vectors = WordVectors(word_vectors, self.device) if word_vectors is not None else None
        self._cache: OrderedDict[str, list[str]] = OrderedDict()

    # ------------------------------------------------------------------ MLM

    def window(self, pieces: Sequence[int], position: int) -> tuple[list[int], int]:
        """``[CLS] pieces [SEP]`` with ``position`` masked, cropped to ``max_length`` around it.

        Returns the input ids and the masked index in them.
        """
        room = self.max_length - 2
        start = 0 if len(pieces) <= room else min(max(0, position - room // 2), len(pieces) - room)
        ids = [self.cls_id, *pieces[start : start + room], self.sep_id]
        masked = position - start + 1
        ids[masked] = self.tokenizer.mask_token_id
        return ids, masked

    @torch.inference_mode()
    def mlm(self, contexts: Sequence[tuple[Sequence[int], int]]) -> list[list[str]]:
        """Top-K MLM candidates for each ``(sentence piece ids, masked piece index)``.

        Identical contexts (a repeated sentence) are computed once. The distinct ones are sorted
        by length and run ``batch_size`` at a time: ids ``[b, L]`` -> hidden ``[b, L, d]`` -> the
        hidden state at each masked position ``[b, d]`` -> head ``[b, V]``.
        The original piece and every non-candidate entry are excluded before the top-K.
        """
        first: dict[tuple[tuple[int, ...], int], int] = {}
        for i, (pieces, position) in enumerate(contexts):
            first.setdefault((tuple(pieces), position), i)
        results: list[list[str]] = [[] for _ in contexts]
        order = sorted(first.values(), key=lambda i: len(contexts[i][0]))
        for begin in range(0, len(order), self.batch_size):
            chunk = order[begin : begin + self.batch_size]
            windows = [self.window(*contexts[i]) for i in chunk]
            width = max(len(ids) for ids, _ in windows)
            input_ids = torch.full((len(chunk), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, (ids, _) in enumerate(windows):
                input_ids[row, : len(ids)] = torch.tensor(ids)
                mask[row, : len(ids)] = 1
            positions = torch.tensor([m for _, m in windows], device=self.device)
            original = torch.tensor([contexts[i][0][contexts[i][1]] for i in chunk], device=self.device)
            rows = torch.arange(len(chunk), device=self.device)
            input_ids, mask = input_ids.to(self.device), mask.to(self.device)
            if self.head is not None:
                hidden = self.encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state  # [b, L, d]
                logits = self.head(hidden[rows, positions])  # [b, V]
            else:
                logits = self.model(input_ids=input_ids, attention_mask=mask).logits[rows, positions]  # [b, V]
            logits = logits.float().masked_fill(~self.allowed[: logits.shape[1]], float("-inf"))
            logits[rows, original] = float("-inf")
            values, indices = (t.cpu() for t in logits.topk(min(self.k, logits.shape[1]), dim=1))  # [b, k] each
            for row, i in enumerate(chunk):
                keep = torch.isfinite(values[row]).tolist()
                results[i] = [self.tokens[j] for j, ok in zip(indices[row].tolist(), keep, strict=True) if ok]
        return [results[first[(tuple(pieces), position)]] for pieces, position in contexts]

    # ------------------------------------------------------------------ nearest neighbours

    def _search(self, queries: torch.Tensor, table: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
        """Indices ``[q, k+1]`` of the nearest rows of ``table`` ``[A, d]`` to ``queries`` ``[q, d]``
        (both normalised), one matrix product per ``chunk`` queries."""
        top = min(self.k + 1, table.shape[0])
        out = [(queries[s : s + chunk] @ table.T).topk(top, dim=1).indices for s in range(0, len(queries), chunk)]
        return torch.cat(out).cpu()

    @torch.inference_mode()
    def neighbours(
        self, words: Sequence[str], pieces: Sequence[Sequence[int]], use_cache: bool = True
    ) -> list[list[str]]:
        """K nearest whole-word neighbours of each word (the word itself excluded).

        Multi-piece words found in the word-vectors file use it; every other word uses the mean of
        its piece embeddings in the model's table. Results are cached per word (``use_cache``).
        """
        results: list[list[str] | None] = [None] * len(words)
        todo: dict[str, list[int]] = {}  # cache key -> positions in ``words``
        for i, word in enumerate(words):
            key = self._key(word, pieces[i])
            if use_cache and key in self._cache:
                self._cache.move_to_end(key)
                results[i] = self._cache[key]
            else:
                todo.setdefault(key, []).append(i)
        glove = [key for key in todo if key.startswith("v:")]
        model = [key for key in todo if not key.startswith("v:")]
        found: dict[str, list[str]] = {}
        if glove and self.vectors is not None:
            rows = torch.tensor([self.vectors.lookup(key[2:]) for key in glove], device=self.device)
            top = self._search(self.vectors.matrix[rows], self.vectors.table)
            for key, idx in zip(glove, top.tolist(), strict=True):
                found[key] = self._pick(key[2:], [self.vectors.candidate_words[j] for j in idx])
        if model:
            bags = [pieces[todo[key][0]] for key in model]
            flat = torch.tensor([p for bag in bags for p in bag], device=self.device)
            offsets = torch.tensor([0, *itertools.accumulate(len(bag) for bag in bags)][:-1], device=self.device)
            queries = F.embedding_bag(flat, self.embeddings, offsets, mode="mean")  # [q, d]: mean of the pieces
            top = self._search(F.normalize(queries, dim=1), self.table)
            for key, idx in zip(model, top.tolist(), strict=True):
                found[key] = self._pick(words[todo[key][0]], [self.tokens[self.candidate_ids[j]] for j in idx])
        for key, positions in todo.items():
            for i in positions:
                results[i] = found[key]
            if use_cache:
                self._cache[key] = found[key]
                if len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return [r if r is not None else [] for r in results]

    def _key(self, word: str, pieces: Sequence[int]) -> str:
        if self.vectors is not None and len(pieces) > 1 and self.vectors.lookup(word) is not None:
            return "v:" + word
        return "e:" + " ".join(map(str, pieces))

    def _pick(self, word: str, candidates: list[str]) -> list[str]:
        folded = word.lower()
        return [c for c in candidates if c.lower() != folded][: self.k]

    # ------------------------------------------------------------------ both

    def candidates(self, texts: Sequence[str]) -> tuple[list[list[Word]], list[list[list[str]]]]:
        """Words of each text and the candidates of each word (empty for words never replaced)."""
        words = segment(self.tokenizer, texts, self.stop_words)
        cands: list[list[list[str]]] = [[[] for _ in ws] for ws in words]
        contexts, context_at, queries, query_at = [], [], [], []
        for t, ws in enumerate(words):
            flat = [p for w in ws for p in w.pieces]
            offset = 0
            for j, w in enumerate(ws):
                if w.replaceable and self.has_mlm_head and len(w.pieces) == 1:
                    contexts.append((flat, offset))
                    context_at.append((t, j))
                elif w.replaceable:
                    queries.append((texts[t][w.start : w.end], w.pieces))
                    query_at.append((t, j))
                offset += len(w.pieces)
        for (t, j), found in zip(context_at, self.mlm(contexts), strict=True):
            cands[t][j] = found
        found_n = self.neighbours([q for q, _ in queries], [p for _, p in queries])
        for (t, j), found in zip(query_at, found_n, strict=True):
            cands[t][j] = found
        return words, cands
